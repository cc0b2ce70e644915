# Sourced by scripts/run and scripts/test: make .venv with Python >= 3.11 and install OrderAtlas into it.
# Reinstalls only when pyproject.toml changes.

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "OrderAtlas needs Python >= 3.11 on PATH" >&2
  return 1
}

bootstrap() {
  local extras="$1"
  local stamp=".venv/.install-stamp"
  local want
  want="$(cat pyproject.toml)|$extras"
  if [ ! -x .venv/bin/python ]; then
    "$(find_python)" -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".$extras"
    printf '%s' "$want" > "$stamp"
  fi
}

# The console's browser tests drive Debian's Chromium. Installed here when missing and we may
# (root with apt-get, as on CI); otherwise those tests fail and say how to install it.
ensure_chromium() {
  if [ -n "${ORDERATLAS_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 ||
    command -v chromium-browser >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the console tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
      echo "could not install chromium; the console tests will say how" >&2
  fi
}
