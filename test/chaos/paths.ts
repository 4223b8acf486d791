/** The repository root, for files the chaos run reads from the build (`dist/`). */
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
