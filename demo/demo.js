// Demo wiring: fetch a dev token per pane from the server's --dev endpoint and mount <imbed-chat>.
// The chat server is the page's own origin here; an embedding page would point `server` elsewhere.
const params = new URLSearchParams(location.search);
const conversation = params.get('conversation') || 'demo';
const server = '/ws';

document.getElementById('conv-name')?.replaceChildren(conversation);

async function devToken(user) {
  const res = await fetch(`/dev/token?user=${encodeURIComponent(user)}`);
  if (!res.ok) {
    // The server says why (e.g. 403: it runs without --dev); older servers answered a bare 404.
    const reason = await res.json().then((body) => body.error, () => null);
    throw new Error(`dev token for ${user}: HTTP ${res.status}: ${reason ?? 'is the server running with --dev?'}`);
  }
  return (await res.json()).token;
}

async function mount(pane) {
  const user = pane.dataset.user || params.get('user') || 'carol';
  pane.dataset.user = user;
  pane.querySelector('h2').textContent = user;
  const slot = pane.querySelector('.chat-slot');
  try {
    const chat = document.createElement('imbed-chat');
    chat.setAttribute('server', server);
    chat.setAttribute('conversation', conversation);
    // Asked first here, so a server without --dev is explained in the pane; then asked again by the
    // chat whenever the token expires, as a page's own backend would be.
    let first = await devToken(user);
    chat.tokenProvider = async () => {
      const token = first ?? (await devToken(user));
      first = null;
      return token;
    };
    slot.replaceChildren(chat);
  } catch (err) {
    const p = document.createElement('p');
    p.className = 'demo-error';
    p.textContent = String(err.message || err);
    slot.replaceChildren(p);
  }
}

document.querySelectorAll('.pane').forEach((pane) => void mount(pane));

document.getElementById('open-user')?.addEventListener('submit', (event) => {
  event.preventDefault();
  const user = new FormData(event.target).get('user');
  window.open(`/user.html?user=${encodeURIComponent(user)}&conversation=${encodeURIComponent(conversation)}`, '_blank', 'noopener');
});
