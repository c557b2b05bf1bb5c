// picocloud.edge portal: refresh the apps and nodes tables from /api/apps without reloading the page.
// Every value is set with textContent or as an http(s) href, never as HTML: nothing from Consul can
// add markup or script (and the page's Content-Security-Policy allows no inline script anyway).
'use strict';

(function () {
  const refreshMs = Math.max(1, parseInt(document.body.dataset.refresh, 10) || 5) * 1000;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === 'text') { node.textContent = value; } else { node.setAttribute(key, value); }
    });
    (children || []).forEach((child) => node.appendChild(child));
    return node;
  }

  function safeUrl(url) {
    try {
      const parsed = new URL(url);
      return (parsed.protocol === 'http:' || parsed.protocol === 'https:') ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(url, text) {
    const href = url && safeUrl(url);
    if (!href) { return document.createTextNode(text); }
    return el('a', { href: href, rel: 'noopener noreferrer', target: '_blank', text: text });
  }

  function badge(status) {
    return el('span', { class: 'badge status-' + status, 'data-status': status, text: status });
  }

  function appRow(app) {
    const where = el('ul', {}, app.instances.map((i) => el('li', { 'data-node': i.node }, [
      badge(i.status), document.createTextNode(' '), link(i.url, i.address + ':' + i.port),
      document.createTextNode(' on ' + i.node + ' (' + i.checks.map((c) => c.name + ': ' + c.status).join('; ') + ')'),
    ])));
    return el('tr', { 'data-app': app.name, 'data-status': app.status }, [
      el('td', { class: 'app-name', text: app.name }),
      el('td', { class: 'app-description', text: app.description }),
      el('td', { class: 'app-owner', text: app.owner }),
      el('td', { class: 'app-status' }, [badge(app.status)]),
      el('td', { class: 'app-where' }, [where]),
      el('td', { class: 'app-open' }, app.url ? [link(app.url, 'open')] : []),
    ]);
  }

  function nodeRow(node) {
    const checks = el('ul', {}, node.checks.map((c) => el('li', { 'data-check': c.id, title: c.output }, [
      badge(c.status), document.createTextNode(' ' + c.name),
    ])));
    return el('tr', { 'data-node': node.name, 'data-status': node.status }, [
      el('td', { class: 'node-name', text: node.name }),
      el('td', { class: 'node-address', text: node.address }),
      el('td', { class: 'node-status' }, [badge(node.status)]),
      el('td', { class: 'node-checks' }, [checks]),
    ]);
  }

  function render(model) {
    document.querySelector('#apps tbody').replaceChildren(...(model.apps || []).map(appRow));
    document.querySelector('#nodes tbody').replaceChildren(...(model.nodes || []).map(nodeRow));
    document.getElementById('no-apps').hidden = (model.apps || []).length > 0;
    document.getElementById('updated').textContent = model.updated || '';
    document.getElementById('error').textContent = model.error || '';
  }

  async function refresh() {
    try {
      const answer = await fetch('/api/apps', { cache: 'no-store' });
      if (!answer.ok) { throw new Error('the portal answered ' + answer.status); }
      render(await answer.json());
    } catch (e) {
      document.getElementById('error').textContent = 'Refresh failed: ' + e.message;
    } finally {
      window.setTimeout(refresh, refreshMs);
    }
  }

  window.setTimeout(refresh, refreshMs);
}());
