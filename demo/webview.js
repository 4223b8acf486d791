// Plays the native app around a WebView. Loaded before imbed.js, as an injected interface would be there
// first. Everything but the interface itself stays inside this function: the app adds one global, imbed one.
(() => {
  const params = new URLSearchParams(location.search);
  const user = params.get('user') || 'alice';
  const conversation = params.get('conversation') || 'demo';
  const server = '/ws';
  // The app's storage for the chat (webview-storage.js), used when the page turned it on.
  const storage = window[Symbol.for('imbed-demo-storage')];
  let log = null;
  const early = [];

  function line(kind, text) {
    if (!log) return void early.push([kind, text]);
    const item = document.createElement('li');
    item.className = kind;
    item.textContent = `${new Date().toLocaleTimeString()} ${kind === 'in' ? '→ ' : '← '}${text}`;
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  // What Android's addJavascriptInterface(object { @JavascriptInterface fun postMessage(json: String) }, "ImbedNative") injects.
  window.ImbedNative = {
    postMessage(json) {
      const message = JSON.parse(json);
      if (message.type === 'storage') return void answerStorage(message);
      line(message.type === 'error' ? 'error' : 'out', json);
    },
  };

  // A storage operation: applied, then answered a turn later as the app's evaluateJavascript would.
  // Logged in short, since every message the chat stores or loads is one.
  function answerStorage(message) {
    const answer = storage.apply(message);
    line('out', `storage #${message.id} ${message.op}`);
    setTimeout(() => {
      line(answer.ok ? 'in' : 'error', `storageResult #${answer.id} ${answer.ok ? 'ok' : `ok: false, ${answer.error}`}`);
      window.Imbed.bridge.receive(answer);
    });
  }

  // What the app's evaluateJavascript("Imbed.bridge.receive(...)") does; the result is what its callback gets.
  // The command is logged before it runs, so an error it causes shows up after it.
  function send(command) {
    const item = line('in', typeof command === 'string' ? command : JSON.stringify(command));
    const result = window.Imbed?.bridge ? window.Imbed.bridge.receive(command) : 'imbed.js is not loaded yet';
    item.append(`  = ${result}`);
  }

  async function devToken(name) {
    const res = await fetch(`/dev/token?user=${encodeURIComponent(name)}`);
    if (!res.ok) throw new Error(`dev token for ${name}: HTTP ${res.status}: is the server running with --dev?`);
    return (await res.json()).token;
  }

  document.addEventListener('DOMContentLoaded', async () => {
    log = document.getElementById('log');
    for (const [kind, text] of early.splice(0)) line(kind, text);
    document.getElementById('other-user').href = `/user.html?user=bob&conversation=${encodeURIComponent(conversation)}`;
    document.querySelectorAll('[data-command]').forEach((button) => {
      button.addEventListener('click', () => send(JSON.parse(button.dataset.command)));
    });
    document.getElementById('set-token').addEventListener('click', async () => {
      send({ v: 1, type: 'setToken', token: await devToken(user) });
    });
    document.getElementById('custom').addEventListener('submit', (event) => {
      event.preventDefault();
      // Sent as the text it is, malformed or not: the bridge answers bad input with an error event.
      send(document.getElementById('custom-json').value);
    });
    document.getElementById('clear-log').addEventListener('click', () => log.replaceChildren());
    const nativeStorage = document.getElementById('native-storage');
    nativeStorage.checked = storage.on;
    nativeStorage.addEventListener('change', () => {
      storage.set(nativeStorage.checked);
      location.reload();
    });
    document.getElementById('refuse-next').addEventListener('click', () => storage.refuseNext());
    document.getElementById('forget-storage').addEventListener('click', () => {
      storage.clear();
      location.reload();
    });

    const screen = document.getElementById('screen');
    try {
      const chat = document.createElement('imbed-chat');
      chat.setAttribute('mode', 'launcher');
      chat.setAttribute('server', server);
      chat.setAttribute('conversation', conversation);
      chat.token = await devToken(user);
      screen.replaceChildren(chat);
    } catch (err) {
      const p = document.createElement('p');
      p.className = 'demo-error';
      p.textContent = String(err.message || err);
      screen.replaceChildren(p);
    }
  });
})();
