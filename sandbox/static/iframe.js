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
  const summary = document.getElementById('summary');
  const amountEl = document.getElementById('amount');
  const merchantEl = document.getElementById('merchant');
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

  function setStatus(text) {
    statusEl.textContent = text;
    statusEl.className = '';
  }

  // The end state of a ceremony, said plainly: confirmed, cancelled or
  // not completed.
  function setEnd(text, kind) {
    statusEl.textContent = text;
    statusEl.className = 'end ' + kind;
  }

  // ISO 4217 numeric codes of the currencies the sandbox sees most.
  const currencies = {
    '036': 'AUD', '124': 'CAD', '156': 'CNY', '344': 'HKD', '356': 'INR', '392': 'JPY', '484': 'MXN',
    '554': 'NZD', '702': 'SGD', '752': 'SEK', '756': 'CHF', '826': 'GBP', '840': 'USD', '978': 'EUR', '986': 'BRL',
  };

  function formatAmount(amount, numeric) {
    const code = currencies[numeric];
    if (code) {
      try {
        return new Intl.NumberFormat(navigator.language || 'en-US', { style: 'currency', currency: code }).format(Number(amount));
      } catch (e) {
        return amount + ' ' + code;
      }
    }
    return amount + (numeric ? ' (currency ' + numeric + ')' : '');
  }

  // showSummary says what the passkey is for, before the shopper uses
  // it: the amount and the merchant of a purchase. They come from the
  // attestation payload the sandbox signed (a JWS); anything else shows
  // nothing rather than a guess.
  function showSummary(action, payload) {
    let claims = null;
    try {
      const part = String(payload || '').split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      claims = JSON.parse(atob(part + '='.repeat((4 - part.length % 4) % 4)));
    } catch (e) {
      claims = null;
    }
    summary.classList.remove('shown');
    amountEl.textContent = '';
    merchantEl.textContent = '';
    if (!claims || typeof claims !== 'object') return;
    const merchant = typeof claims.merchantName === 'string' ? claims.merchantName : '';
    if (action === 'REGISTER') {
      amountEl.textContent = 'Create a passkey';
      merchantEl.textContent = merchant ? 'for ' + merchant : 'for faster, safer checkout';
    } else if (typeof claims.amount === 'string' && claims.amount !== '') {
      amountEl.textContent = formatAmount(claims.amount, String(claims.currencyCode || ''));
      merchantEl.textContent = merchant ? 'to ' + merchant : '';
    } else {
      return;
    }
    summary.classList.add('shown');
  }

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
    if (ev.type === 'AUTH_COMPLETE') {
      setEnd(action === 'REGISTER' ? 'Passkey created.' : 'Confirmed.', 'ok');
    } else if (ev.type === 'AUTH_CANCELLED') {
      setEnd('Cancelled.', 'cancelled');
    } else {
      setEnd('Not completed.', 'failed');
    }
    post(ev, origin);
  }

  async function onCommand(msg, origin) {
    if (msg.requestID !== requestID) {
      post({ type: 'AUTH_FAILED', requestID: String(msg.requestID || ''), version, error: 'UNKNOWN_REQUEST_ID' }, origin);
      return;
    }
    switch (msg.type) {
      case 'CREATE_AUTH_SESSION': {
        summary.classList.remove('shown');
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
        showSummary(res.action, msg.authenticationContext && msg.authenticationContext.payload);
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
