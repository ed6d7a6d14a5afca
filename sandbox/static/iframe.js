// Visa Payment Passkey iFrame, sandbox edition (docs/wire.md §7.2).
// Speaks the postMessage protocol with the parent (iframe) or opener (popup),
// only with allowlisted origins, and never posts to "*". Passkey ceremonies
// are real: WebAuthn options come from /vts-auth/fido/options and the
// credential goes to /vts-auth/fido/finish, where the sandbox verifies it.
'use strict';
(function () {
  const body = document.body;
  const requestID = body.dataset.requestId;
  const version = '1';
  const allowList = (body.dataset.allowedOrigins || '').split(' ').filter(Boolean);
  const browserHeader = body.dataset.browserHeader || '';
  const statusEl = document.getElementById('status');
  const button = document.getElementById('continue');
  const query = location.search; // carries apikey and clientAppID
  const framed = window.parent !== window;
  const peer = framed ? window.parent : window.opener;

  let parentOrigin = '';
  try {
    parentOrigin = document.referrer ? new URL(document.referrer).origin : '';
  } catch (e) {
    parentOrigin = '';
  }

  function allowed(origin) {
    if (allowList.length > 0) return allowList.includes(origin);
    return /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/.test(origin);
  }

  function setStatus(text) { statusEl.textContent = text; }

  function post(msg, origin) { peer.postMessage(msg, origin); }

  function failed(error) { return { type: 'AUTH_FAILED', requestID, version, error }; }

  async function call(path, payload) {
    const res = await fetch(path + query, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(payload),
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    return res.json();
  }

  function browserData() {
    return {
      browserJavaEnabled: false,
      browserJavascriptEnabled: true,
      browserLanguage: navigator.language || '',
      browserColorDepth: String(screen.colorDepth),
      browserScreenHeight: String(screen.height),
      browserScreenWidth: String(screen.width),
      browserTimeZone: String(new Date().getTimezoneOffset()),
      userAgent: navigator.userAgent,
      browserHeader,
    };
  }

  function webauthnSupported() {
    return typeof window.PublicKeyCredential === 'function' &&
      typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function' &&
      typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function' &&
      !!navigator.credentials;
  }

  // The top-level origin a browser writes into clientDataJSON: the parent's,
  // unless the parent is itself framed (ancestorOrigins is Chromium/WebKit).
  function topOriginFor(origin) {
    const anc = location.ancestorOrigins;
    return anc && anc.length > 0 ? anc[anc.length - 1] : origin;
  }

  function outcomeOf(err) {
    switch (err && err.name) {
      case 'NotAllowedError':
      case 'AbortError':
        return 'CANCELLED';
      case 'NotSupportedError':
        return 'NOT_SUPPORTED';
      default:
        return 'FAILED';
    }
  }

  let ceremony = null; // {origin, action, options} while the button waits
  let busy = false;

  async function runCeremony() {
    if (!ceremony || busy) return;
    busy = true;
    button.disabled = true;
    const { origin, action, options } = ceremony;
    setStatus(action === 'REGISTER' ? 'Creating your passkey\u2026' : 'Confirming with your passkey\u2026');
    let report;
    try {
      const cred = action === 'REGISTER'
        ? await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
        : await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
      if (!cred) throw new DOMException('no credential', 'NotAllowedError');
      report = { requestID, credential: cred.toJSON() };
    } catch (err) {
      report = { requestID, outcome: outcomeOf(err) };
    }
    let ev;
    try {
      ev = await call('/vts-auth/fido/finish', report);
    } catch (e) {
      ev = failed('CEREMONY_FAILED');
    }
    ceremony = null;
    busy = false;
    button.hidden = true;
    button.disabled = false;
    setStatus(ev.type === 'AUTH_COMPLETE' ? 'Done.' : 'Not completed.');
    post(ev, origin);
  }

  async function onCommand(msg, origin) {
    if (msg.requestID !== requestID) {
      post({ type: 'AUTH_FAILED', requestID: String(msg.requestID || ''), version, error: 'UNKNOWN_REQUEST_ID' }, origin);
      return;
    }
    switch (msg.type) {
      case 'CREATE_AUTH_SESSION': {
        const ev = await call(location.pathname, {
          type: 'CREATE_AUTH_SESSION', requestID, version, client: msg.client, browserData: browserData(),
        });
        setStatus(ev.type === 'AUTH_SESSION_CREATED' ? 'Session ready.' : 'Session failed.');
        post(ev, origin);
        return;
      }
      case 'AUTHENTICATE': {
        const res = await call('/vts-auth/fido/options', {
          requestID, authenticationContext: msg.authenticationContext, topOrigin: topOriginFor(origin), crossOrigin: framed,
        });
        if (res.event) {
          post(res.event, origin);
          return;
        }
        if (!webauthnSupported()) {
          post(await call('/vts-auth/fido/finish', { requestID, outcome: 'NOT_SUPPORTED' }), origin);
          return;
        }
        ceremony = { origin, action: res.action, options: res.publicKey };
        setStatus(res.action === 'REGISTER' ? 'Create a passkey for faster checkout.' : 'Confirm this purchase with your passkey.');
        button.hidden = false;
        return;
      }
      case 'CLOSE_AUTH_SESSION': {
        ceremony = null;
        button.hidden = true;
        post(await call(location.pathname, { type: 'CLOSE_AUTH_SESSION', requestID }), origin);
        setStatus('Closed.');
        return;
      }
      default:
        post(failed('UNKNOWN_COMMAND'), origin);
    }
  }

  button.addEventListener('click', () => { runCeremony(); });

  if (!peer) {
    setStatus('Open this page from a merchant page.');
    return;
  }
  if (!allowed(parentOrigin)) {
    setStatus('This page is not opened by an allowed origin.');
    return;
  }

  window.addEventListener('message', (ev) => {
    if (ev.source !== peer || !allowed(ev.origin)) return;
    let msg = ev.data;
    if (typeof msg === 'string') {
      try { msg = JSON.parse(msg); } catch (e) { return; }
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    onCommand(msg, ev.origin).catch(() => post(failed('CEREMONY_FAILED'), ev.origin));
  });

  post({ type: 'AUTH_READY', requestID, version }, parentOrigin);
})();
