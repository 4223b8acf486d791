import { defineConfig } from 'vite';

// In development Vite passes the chat's WebSocket and the dev-token request on to an imbed server
// started with `--dev`, so the page needs no CORS setup. In production your backend issues tokens.
const imbedServer = process.env.IMBED_SERVER ?? 'http://localhost:8787';

export default defineConfig({
  build: { target: 'es2022' },
  server: {
    proxy: {
      '/ws': { target: imbedServer, ws: true },
      '/dev/token': imbedServer,
    },
  },
});
