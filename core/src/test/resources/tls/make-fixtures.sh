#!/usr/bin/env bash
# Makes the TLS test fixtures in this folder (TlsTest reads them): a CA, a server and a client
# certificate it signs, a server certificate for another host name, and a second CA nobody uses.
# Keys are EC P-256, valid for 100 years, PKCS12 stores with the password "changeit".
# Run from anywhere: bash core/src/test/resources/tls/make-fixtures.sh (needs keytool, any JDK 11+).
set -euo pipefail
cd "$(dirname "$0")"
rm -f ./*.p12 ./*.pem
kt() { keytool -storetype PKCS12 -storepass changeit -keypass changeit "$@" 2>/dev/null; }
days=36500

ca() { # name
  kt -genkeypair -alias "$1" -keyalg EC -groupname secp256r1 -dname "CN=packetconn test $1" \
    -ext bc:c -validity $days -keystore "$1.p12"
  kt -exportcert -rfc -alias "$1" -keystore "$1.p12" -file "$1.pem"
  kt -importcert -noprompt -alias "$1" -file "$1.pem" -keystore "$1-trust.p12"
}

leaf() { # name ca dname san
  kt -genkeypair -alias "$1" -keyalg EC -groupname secp256r1 -dname "$3" -validity $days -keystore "$1.p12"
  kt -certreq -alias "$1" -keystore "$1.p12" -file "$1.csr"
  kt -gencert -rfc -alias "$2" -keystore "$2.p12" -infile "$1.csr" -outfile "$1.pem" -validity $days \
    ${4:+-ext "SAN=$4"}
  kt -importcert -noprompt -alias "$2" -file "$2.pem" -keystore "$1.p12"
  kt -importcert -alias "$1" -file "$1.pem" -keystore "$1.p12"
  rm -f "$1.csr"
}

ca ca
ca other-ca
leaf server ca "CN=localhost" "dns:localhost,ip:127.0.0.1,ip:::1"
leaf client ca "CN=packetconn test client"
leaf elsewhere ca "CN=example.com" "dns:example.com"
rm -f ./*.pem
ls -l ./*.p12
