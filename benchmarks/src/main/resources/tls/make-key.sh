#!/usr/bin/env bash
# Makes bench.p12 in this folder: the TLS key of the bench's echo servers, a self-signed EC P-256
# certificate for localhost and 127.0.0.1, valid for 100 years, in a PKCS12 store with the password
# "changeit". BenchTls reads it; the load generator trusts that certificate and nothing else.
# A throwaway key for loopback benchmarks: never use it anywhere else.
# Run from anywhere: bash benchmarks/src/main/resources/tls/make-key.sh (needs keytool, any JDK 11+).
set -euo pipefail
cd "$(dirname "$0")"
rm -f bench.p12
keytool -genkeypair -storetype PKCS12 -storepass changeit -keypass changeit -keystore bench.p12 \
  -alias bench -keyalg EC -groupname secp256r1 -dname "CN=localhost" \
  -ext "SAN=dns:localhost,ip:127.0.0.1" -validity 36500 2>/dev/null
ls -l bench.p12
