#!/bin/sh
# Writes tls/: a CA (ca.pem) and one listener certificate (vaultd.crt,
# vaultd.key) for vaultd-1..3 and 127.0.0.1, valid 365 days. Uses openssl.
set -eu
cd "$(dirname "$0")"
mkdir -p tls
cd tls
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -keyout ca.key -out ca.pem -days 365 -subj "/CN=secretumvault-compose-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -keyout vaultd.key -out vaultd.csr -subj "/CN=vaultd"
printf 'subjectAltName=DNS:vaultd-1,DNS:vaultd-2,DNS:vaultd-3,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n' > ext.cnf
openssl x509 -req -in vaultd.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
  -out vaultd.crt -days 365 -extfile ext.cnf
rm -f vaultd.csr ext.cnf ca.srl
# The containers run as uid 10001, which must read the key.
chmod 0644 ca.pem vaultd.crt
chmod 0600 ca.key vaultd.key
if [ "$(id -u)" = 0 ]; then
  chown 10001:10001 vaultd.key
else
  echo "not root: run 'sudo chown 10001:10001 $(pwd)/vaultd.key' for the containers' user" >&2
fi
echo "tls/: ca.pem vaultd.crt vaultd.key (ca.key: keep it elsewhere)"
