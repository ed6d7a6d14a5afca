// Bridge page of github.com/vicgo/visa/authframe (docs/wire.md §7.2).
//
// Loads the Visa Auth iFrame (or, when needed, a popup), speaks the
// postMessage protocol with it and relays between it and the Go code on the
// server: commands come from a long-poll (GET poll), the iFrame's events go
// back with POST event. Both carry the page's channel in a header.
//
// Origin rules: a message is taken only when event.origin is the Auth
// origin AND event.source is the window we loaded (the iframe's or the
// popup's); we post only with targetOrigin = the Auth origin, never "*".
'use strict';
(function () {
  const body = document.body;
  const channel = body.dataset.channel;
  const frameURL = body.dataset.frameUrl;
  const authOrigin = body.dataset.authOrigin;
  const statusEl = document.getElementById('vpp-status');
  const modal = document.getElementById('vpp-modal');
  const slot = document.getElementById('vpp-slot');
  const cancelBtn = document.getElementById('vpp-cancel');
  const ask = document.getElementById('vpp-popup-ask');
  const askBtn = document.getElementById('vpp-popup-open');
  const endEl = document.getElementById('vpp-end');
  const endTitle = document.getElementById('vpp-end-title');
  const endText = document.getElementById('vpp-end-text');
  const backBtn = document.getElementById('vpp-back');
  const version = '1';

  let seq = 0; // seq of the Go command in progress
  let frame = null; // the session's <iframe>
  let popup = null; // the popup window, when one is used
  let peer = null; // the window that speaks for the iFrame
  let requestID = ''; // the session's requestID (from AUTH_READY)
  let pendingCreate = null; // CREATE_AUTH_SESSION waiting for AUTH_READY
  let pendingAuth = null; // AUTHENTICATE waiting for the popup's AUTH_READY
  let ceremony = false; // a ceremony is shown to the cardholder
  let popupWatch = 0;
  let action = ''; // REGISTER or AUTHENTICATE: the ceremony in progress

  function setStatus(text) { statusEl.textContent = text; }

  // The end state the shopper sees: what happened to this purchase (or
  // passkey), in words, and the way back to the shop. It stays after
  // the session closes; a new session clears it.
  const ends = {
    AUTHENTICATE: {
      ok: ['Confirmed.', 'Payment confirmed', 'Your passkey confirmed this purchase.'],
      cancelled: ['Cancelled.', 'Payment cancelled', 'You cancelled: this purchase was not confirmed.'],
      failed: ['Not completed.', 'Payment not completed', 'Your passkey could not confirm this purchase.'],
    },
    REGISTER: {
      ok: ['Passkey created.', 'Passkey created', 'Your card is ready for faster checkout.'],
      cancelled: ['Cancelled.', 'Passkey not created', 'You cancelled: no passkey was created.'],
      failed: ['Not completed.', 'Passkey not created', 'The passkey could not be created.'],
    },
  };

  function showEnd(kind) {
    const e = (ends[action] || ends.AUTHENTICATE)[kind];
    setStatus(e[0]);
    if (!action) return; // no ceremony was asked for: nothing to conclude
    endTitle.textContent = e[1];
    endText.textContent = e[2];
    endEl.className = 'vpp-end ' + kind;
    endEl.hidden = false;
    // A second tap meant for the dialog's button must not take the
    // shopper away: the way back works after a moment.
    backBtn.disabled = true;
    setTimeout(() => { backBtn.disabled = false; }, 800);
  }

  function hideEnd() { endEl.hidden = true; }

  // Back to the shop: where the page came from, or the window that
  // opened it. A data-return-url on <body> (an http(s) URL) wins.
  backBtn.addEventListener('click', () => {
    const to = body.dataset.returnUrl || '';
    if (/^https?:\/\//.test(to)) {
      location.assign(to);
    } else if (window.opener && !window.opener.closed) {
      window.close();
    } else if (history.length > 1) {
      history.back();
    } else {
      window.close();
    }
  });

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  // relay sends one event to Go, tagged with the command it answers.
  // Events go one after the other, in the order the iFrame sent them.
  let relays = Promise.resolve();
  function relay(msg) {
    const payload = JSON.stringify({ seq, message: msg });
    relays = relays.then(() => send(payload));
    return relays;
  }

  async function send(payload) {
    for (let i = 0; i < 3; i++) {
      try {
        const res = await fetch('event', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-VPP-Channel': channel },
          body: payload,
          credentials: 'same-origin',
          cache: 'no-store',
        });
        if (res.ok || res.status === 403) return;
      } catch (e) {
        // retried below
      }
      await sleep(300);
    }
  }

  function post(msg) {
    if (peer) peer.postMessage(msg, authOrigin);
  }

  function showModal(on) { modal.classList.toggle('vpp-shown', on); }

  function teardown() {
    showModal(false);
    ask.hidden = true;
    clearInterval(popupWatch);
    if (frame) frame.remove();
    if (popup && !popup.closed) popup.close();
    frame = null;
    popup = null;
    peer = null;
    requestID = '';
    pendingCreate = null;
    pendingAuth = null;
    ceremony = false;
  }

  function loadFrame() {
    frame = document.createElement('iframe');
    frame.title = 'Visa Payment Passkey';
    frame.className = 'vpp-frame';
    // WebAuthn is delegated to the Auth origin only.
    frame.setAttribute('allow', 'publickey-credentials-create ' + authOrigin + '; publickey-credentials-get ' + authOrigin);
    // The iFrame learns our origin (document.referrer), never our URL.
    frame.referrerPolicy = 'strict-origin';
    frame.src = frameURL;
    slot.appendChild(frame);
    peer = frame.contentWindow;
  }

  // askPopup shows a button: only a click may open a window.
  function askPopup() {
    ask.hidden = false;
    setStatus('Your browser needs a separate window for the Visa passkey.');
  }

  askBtn.addEventListener('click', () => {
    ask.hidden = true;
    const w = window.open(frameURL, 'VPP_POPUP', 'width=560,height=600');
    if (!w) {
      pendingCreate = null;
      pendingAuth = null;
      relay({ type: 'AUTH_NOT_PERFORMED', requestID, version, error: 'POPUP_BLOCKED' });
      return;
    }
    popup = w;
    peer = w;
    setStatus('Continue in the Visa window.');
    clearInterval(popupWatch);
    popupWatch = setInterval(() => {
      if (!popup || !popup.closed) return;
      clearInterval(popupWatch);
      popup = null;
      peer = frame ? frame.contentWindow : null;
      if (pendingCreate || pendingAuth || ceremony) {
        pendingCreate = null;
        pendingAuth = null;
        ceremony = false;
        showEnd('cancelled');
        relay({ type: 'AUTH_CANCELLED', requestID, version, error: 'POPUP_CLOSED' });
      }
    }, 500);
  });

  cancelBtn.addEventListener('click', () => {
    if (!ceremony) return;
    ceremony = false;
    showModal(false);
    showEnd('cancelled');
    relay({ type: 'AUTH_CANCELLED', requestID, version, error: 'CLOSED_BY_USER' });
  });

  window.addEventListener('message', (ev) => {
    if (ev.origin !== authOrigin || !peer || ev.source !== peer) return;
    let msg = ev.data;
    if (typeof msg === 'string') {
      try { msg = JSON.parse(msg); } catch (e) { return; }
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    onEvent(msg);
  });

  function onEvent(msg) {
    switch (msg.type) {
      case 'AUTH_READY':
        if (pendingCreate) {
          requestID = String(msg.requestID || '');
          const cmd = Object.assign({}, pendingCreate, { requestID });
          pendingCreate = null;
          relay(msg);
          post(cmd);
        } else if (pendingAuth) {
          // A popup opened for the ceremony of a session.
          const cmd = pendingAuth;
          pendingAuth = null;
          ceremony = true;
          post(cmd);
        }
        return;
      case 'AUTH_SESSION_CREATED':
        setStatus('Secure session ready.');
        relay(msg);
        return;
      case 'AUTH_SESSION_CLOSED':
        relay(msg);
        teardown();
        if (endEl.hidden) setStatus('Closed.'); // no ceremony ran: the end state, if any, stays
        return;
      default:
        // AUTH_COMPLETE (or an alias) or a failure ends the ceremony.
        if (ceremony) {
          ceremony = false;
          showModal(false);
        }
        if (popup && frame) {
          // A popup that ran one ceremony for the iframe's session is
          // done: the session (and CLOSE_AUTH_SESSION) stays with the
          // iframe.
          const w = popup;
          clearInterval(popupWatch);
          popup = null;
          peer = frame.contentWindow;
          w.close();
        }
        if (msg.type === 'AUTH_COMPLETE' || msg.type === 'RESULT' || msg.type === 'AUTH_SUCCESS') {
          showEnd('ok');
        } else if (msg.type === 'AUTH_CANCELLED') {
          showEnd('cancelled');
        } else {
          showEnd('failed');
        }
        relay(msg);
    }
  }

  function onCommand(cmd) {
    seq = cmd.seq;
    const msg = cmd.message || {};
    switch (msg.type) {
      case 'CREATE_AUTH_SESSION':
        teardown();
        hideEnd();
        action = '';
        pendingCreate = msg;
        setStatus('Connecting to Visa\u2026');
        if (cmd.popup) askPopup(); else loadFrame();
        return;
      case 'AUTHENTICATE':
        if (!peer || msg.requestID !== requestID) {
          relay({ type: 'AUTH_FAILED', requestID: msg.requestID, version, error: 'NO_SESSION' });
          return;
        }
        action = msg.authenticationContext && msg.authenticationContext.action === 'REGISTER' ? 'REGISTER' : 'AUTHENTICATE';
        hideEnd();
        setStatus(action === 'REGISTER' ? 'Create a passkey for faster checkout.' : 'Confirm this purchase with your passkey.');
        if (cmd.popup && !popup) {
          pendingAuth = msg;
          askPopup();
          return;
        }
        ceremony = true;
        if (!popup) showModal(true);
        post(msg);
        return;
      case 'CLOSE_AUTH_SESSION':
        if (!peer || msg.requestID !== requestID) {
          relay({ type: 'AUTH_FAILED', requestID: msg.requestID, version, error: 'NO_SESSION' });
          return;
        }
        post(msg);
        return;
      case 'BRIDGE_ABORT':
        // Go gave up on the command in progress.
        ceremony = false;
        pendingAuth = null;
        showModal(false);
        ask.hidden = true;
        if (pendingCreate) teardown();
        setStatus('Stopped.');
        return;
      default:
    }
  }

  async function poll() {
    for (;;) {
      let res;
      try {
        res = await fetch('poll', {
          headers: { 'X-VPP-Channel': channel, 'X-VPP-After': String(seq), Accept: 'application/json' },
          credentials: 'same-origin',
          cache: 'no-store',
        });
      } catch (e) {
        await sleep(1000);
        continue;
      }
      if (res.status === 204) continue;
      if (res.status === 403) {
        teardown();
        setStatus('This page has expired. Please go back and start again.');
        return;
      }
      if (!res.ok) {
        await sleep(1000);
        continue;
      }
      let cmd;
      try { cmd = await res.json(); } catch (e) { continue; }
      onCommand(cmd);
    }
  }

  setStatus('Waiting for the merchant\u2026');
  poll();
})();
