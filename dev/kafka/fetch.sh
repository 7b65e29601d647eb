#!/usr/bin/env bash
# Resolves the Kafka broker jars (pom.xml) from Maven Central into dev/kafka/target/lib, once.
# Later runs find the jars (and a stamp of the pom they came from) and do not touch Maven, so the
# broker starts offline.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="$here/target/lib"
stamp="$lib/.resolved-from"

pom_sum="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$pom_sum" ]] && compgen -G "$lib/kafka_2.13-*.jar" >/dev/null; then
  echo "fetch.sh: broker jars already in $lib"
  exit 0
fi

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fetch.sh: '$tool' is missing; install Java 17 and Maven: apt-get install -y openjdk-17-jre-headless maven" >&2
    exit 1
  fi
done

echo "fetch.sh: resolving broker jars from Maven Central into $lib"
rm -rf "$lib"
mkdir -p "$lib"
mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$lib"
if ! compgen -G "$lib/kafka_2.13-*.jar" >/dev/null; then
  echo "fetch.sh: Maven finished but no kafka_2.13 jar is in $lib" >&2
  exit 1
fi
echo "$pom_sum" >"$stamp"
echo "fetch.sh: $(find "$lib" -name '*.jar' | wc -l) jars in $lib"
