#!/usr/bin/env bash
# Makes the key material of the secured test listeners (start.sh --secure) in DIR, once per data
# dir. Test-only: a throwaway CA, never trusted by anything but the tests, and never in git.
#
#   dev/kafka/secure-material.sh DIR
#
# DIR then holds:
#   ca.pem                   the CA certificate (what clients put in kafka.ssl.ca)
#   broker-keystore.pem      the broker's PKCS#8 key, its certificate (SAN IP:127.0.0.1 and
#                            DNS:localhost) and the CA: Kafka's PEM key store
#   client.pem, client.key   a client certificate and PKCS#8 key signed by the CA (mTLS listener)
#   oauth-signing.pem        an RS256 private key the tests sign OAuth access tokens with
#   oauth-jwks.json          its public key as a JWKS (kid "grantline-it-1"), what the broker checks
#   sasl.password            the test user's password (random hex; SCRAM and PLAIN)
# Certificates last 30 days; a later start makes new ones when they expire within a day.
# openssl makes the X.509 parts (milliseconds, where five keytool JVM starts take seconds) and
# node the JWKS.
set -euo pipefail

dir="${1:?usage: secure-material.sh DIR}"
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"

for tool in openssl node; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "secure-material.sh: '$tool' is missing (needed for start.sh --secure); install it: apt-get install -y openssl" >&2
    exit 1
  fi
done

if [[ -f ca.pem && -f client.pem ]] && openssl x509 -checkend 86400 -noout -in ca.pem >/dev/null 2>&1 \
  && openssl x509 -checkend 86400 -noout -in client.pem >/dev/null 2>&1; then
  certs_fresh=1
else
  certs_fresh=""
fi

ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
if [[ -z "$certs_fresh" ]]; then
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 30 -subj "/CN=grantline test CA (throwaway)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

  sign() { # sign NAME SUBJECT EXTENSIONS
    openssl req -new "${ec[@]}" -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    printf '%b' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
  }
  sign broker "/CN=127.0.0.1" "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
  sign client "/CN=grantline-it-client" "extendedKeyUsage=clientAuth\n"
  cat broker.key broker.pem ca.pem >broker-keystore.pem
fi

if [[ ! -f oauth-jwks.json || ! -f oauth-signing.pem ]]; then
  node -e '
    const { generateKeyPairSync } = require("crypto");
    const { writeFileSync } = require("fs");
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync("oauth-signing.pem", privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    const jwk = { ...publicKey.export({ format: "jwk" }), kid: "grantline-it-1", alg: "RS256", use: "sig" };
    writeFileSync("oauth-jwks.json", JSON.stringify({ keys: [jwk] }));
  '
fi

if [[ ! -f sasl.password ]]; then
  # Hex only: the password goes into `--add-scram 'SCRAM-SHA-512=[name=...,password=...]'` and a
  # JAAS line, where `,`, `]`, `=` and quotes would need escaping.
  (umask 077 && head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >sasl.password)
fi
chmod 600 ./*.key broker-keystore.pem oauth-signing.pem sasl.password
