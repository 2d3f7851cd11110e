#!/usr/bin/env bash
# Install Debian's chromium, the browser the access report's page test drives through Playwright.
#
#     bash scripts/install_browser.sh          # `make venv` runs it as part of the set-up
#
# Playwright's own browser download (`playwright install`) is never used: it fetches from a CDN that
# closed networks cannot reach and pins a build the distribution does not patch. The distribution's
# package is what a CI image or a developer's machine already trusts.
#
# Idempotent and never fatal: with /usr/bin/chromium present it does nothing; without the rights or
# the tools to install it, it says why and exits 0, and the browser test skips naming this script.
set -uo pipefail

browser=/usr/bin/chromium

if [[ -x "$browser" ]]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser: $browser is missing and apt-get is not available; install chromium by hand for the browser tests"
  exit 0
fi

if [[ "$(id -u)" -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "install_browser: $browser is missing and installing it needs root (or passwordless sudo); run: sudo apt-get install chromium"
  exit 0
fi

echo "install_browser: installing chromium with apt-get"
if ! "${as_root[@]}" apt-get update -qq \
  || ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; then
  echo "install_browser: apt-get could not install chromium; the browser tests will skip"
  exit 0
fi

if [[ -x "$browser" ]]; then
  echo "install_browser: $("$browser" --version 2>/dev/null || echo chromium) installed"
else
  echo "install_browser: apt-get finished but $browser is still missing; the browser tests will skip"
fi
exit 0
