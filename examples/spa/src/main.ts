/**
 * The page's entry. `import 'imbed'` registers `<imbed-chat>`, so the tag in index.html becomes the
 * chat; everything else comes from `chat.ts`. `?user=bob&conv=team` picks who chats, and where.
 */
import 'imbed';
import { connectChat } from './chat';

const params = new URLSearchParams(location.search);
const user = params.get('user') ?? 'alice';

// Typed `ImbedChat | null` by the `HTMLElementTagNameMap` entry that `imbed` declares.
const chat = document.querySelector('imbed-chat');
if (chat) {
  chat.conversation = params.get('conv') ?? 'support-42';
  connectChat(chat, {
    server: '/ws',
    token: () => fetchDevToken(user),
  });
}

/** A token from the imbed server's `--dev` mode; in production your backend signs it. */
async function fetchDevToken(user: string): Promise<string> {
  const response = await fetch(`/dev/token?user=${encodeURIComponent(user)}`);
  if (!response.ok) throw new Error(`no dev token: ${response.status} ${await response.text()}`);
  const { token } = (await response.json()) as { token: string };
  return token;
}
