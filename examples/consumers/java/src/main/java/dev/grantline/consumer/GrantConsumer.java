package dev.grantline.consumer;

import com.nimbusds.jose.util.JSONObjectUtils;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A grantline consumer: reads grant topics (and, if asked, the rejection topic), verifies every
 * message against grantline's JWKS and prints one JSON line per message saying what it would do.
 * A real PAM or secrets adapter provisions where this prints {@code provision}, and never acts on
 * a message that did not verify.
 *
 * <pre>
 * java -cp 'target/classes:target/lib/*' dev.grantline.consumer.GrantConsumer \
 *   --brokers 127.0.0.1:9092 --topic access.grants.pam.v1 \
 *   --jwks http://127.0.0.1:8080/.well-known/jwks.json [--topic access.requests.rejected.v1]
 *   [--group ID] [--max-messages N] [--idle-timeout-ms MS]
 * </pre>
 */
public final class GrantConsumer {
  static final String GRANT_ISSUED = "dev.grantline.grant.issued.v1";
  static final String GRANT_REVOKED = "dev.grantline.grant.revoked.v1";
  static final String REQUEST_REJECTED = "dev.grantline.request.rejected.v1";

  private GrantConsumer() {}

  private record Options(String brokers, List<String> topics, String jwks, String group, long maxMessages, long idleTimeoutMs) {}

  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("grantline-consumer: " + e.getMessage());
      System.err.println("usage: GrantConsumer --brokers HOST:PORT --topic TOPIC [--topic TOPIC] --jwks URL [--group ID] [--max-messages N] [--idle-timeout-ms MS]");
      System.exit(2);
      return;
    }
    GrantVerifier verifier = GrantVerifier.fromJwksUrl(URI.create(options.jwks()).toURL());

    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, options.brokers());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, options.group());
    // Grant and rejection topics are written in transactions: read_committed never shows an aborted grant.
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // Offsets are committed after the messages are handled, never before.
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());

    long handled = 0;
    long lastActivity = System.currentTimeMillis();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(options.topics());
      while (handled < options.maxMessages() && System.currentTimeMillis() - lastActivity < options.idleTimeoutMs()) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
        for (ConsumerRecord<String, String> record : records) {
          System.out.println(JSONObjectUtils.toJSONString(handle(record, verifier)));
          handled++;
          lastActivity = System.currentTimeMillis();
          if (handled >= options.maxMessages()) break;
        }
        if (!records.isEmpty()) consumer.commitSync();
        System.out.flush();
      }
    }
  }

  private static String header(ConsumerRecord<String, String> record, String name) {
    Header h = record.headers().lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** Decides what to do with one message: verify first, then trust only what was signed. */
  static Map<String, Object> handle(ConsumerRecord<String, String> record, GrantVerifier verifier) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("topic", record.topic());
    out.put("partition", record.partition());
    out.put("offset", record.offset());
    out.put("key", record.key());
    String ceType = header(record, "ce_type");
    out.put("ceType", ceType);

    if (!"1.0".equals(header(record, "ce_specversion")) || ceType == null) {
      return refuse(out, "not a CloudEvent in binary mode (ce_specversion 1.0 and ce_type headers)");
    }
    String expectedOutcome = switch (ceType) {
      case GRANT_ISSUED -> "granted";
      case GRANT_REVOKED -> "revoked";
      case REQUEST_REJECTED -> "rejected";
      default -> null;
    };
    if (expectedOutcome == null) {
      // A type added later: not an error, and never acted on.
      out.put("verdict", "ignored");
      out.put("action", "none");
      out.put("detail", "ce_type " + ceType + " is not one this consumer handles");
      return out;
    }
    if (record.value() == null) return refuse(out, "the message has no value");

    GrantVerifier.Verdict verdict = verifier.verify(record.value());
    out.put("kid", verdict.kid());
    if (!verdict.ok()) return refuse(out, verdict.detail());
    Map<String, Object> m = verdict.message();

    // ce_* headers are not signed: the verified body must say the same as ce_type.
    if (!expectedOutcome.equals(m.get("outcome"))) {
      return refuse(out, "ce_type says " + ceType + " but the signed message's outcome is " + m.get("outcome"));
    }
    // Nor is the key: a signed message copied under another key could overtake its revocation.
    String expectedKey = "rejected".equals(expectedOutcome) ? source(m, "connectorId") + "|" + source(m, "ticketId") : String.valueOf(m.get("grantId"));
    if (!expectedKey.equals(record.key())) {
      return refuse(out, "the key " + record.key() + " is not the message's " + expectedKey);
    }

    switch (expectedOutcome) {
      case "granted" -> {
        out.put("id", m.get("grantId"));
        Instant now = Instant.now();
        Instant validFrom = Instant.parse(String.valueOf(m.get("validFrom")));
        Instant expiresAt = Instant.parse(String.valueOf(m.get("expiresAt")));
        if (now.isBefore(validFrom) || !now.isBefore(expiresAt)) {
          return refuse(out, "the grant is valid from " + validFrom + " until " + expiresAt + ", not now");
        }
        Map<?, ?> subject = (Map<?, ?>) m.get("subject");
        out.put("verdict", "accepted");
        out.put("action", "provision");
        out.put("detail", "provision " + m.get("entitlementId") + " on " + m.get("resource") + " (" + m.get("environment") + ") for "
            + subject.get("type") + " " + subject.get("id") + " until " + expiresAt);
      }
      case "revoked" -> {
        out.put("id", m.get("grantId"));
        out.put("revocationId", m.get("revocationId"));
        out.put("verdict", "accepted");
        out.put("action", "deprovision");
        out.put("detail", "deprovision grant " + m.get("grantId") + " (" + m.get("trigger") + ")");
      }
      default -> {
        List<String> codes = new ArrayList<>();
        for (Object r : (List<?>) m.get("reasons")) codes.add(String.valueOf(((Map<?, ?>) r).get("code")));
        out.put("id", m.get("rejectionId"));
        out.put("verdict", "accepted");
        out.put("action", "record-rejection");
        out.put("detail", source(m, "ticketKey") + " rejected: " + String.join(", ", codes));
      }
    }
    return out;
  }

  private static String source(Map<String, Object> m, String field) {
    return m.get("source") instanceof Map<?, ?> s ? String.valueOf(s.get(field)) : null;
  }

  private static Map<String, Object> refuse(Map<String, Object> out, String detail) {
    out.put("verdict", "refused");
    out.put("action", "none");
    out.put("detail", detail);
    return out;
  }

  private static Options parse(String[] args) {
    String brokers = null;
    String jwks = null;
    String group = "grantline-example-consumer-" + UUID.randomUUID();
    List<String> topics = new ArrayList<>();
    long maxMessages = Long.MAX_VALUE;
    long idleTimeoutMs = Long.MAX_VALUE;
    for (int i = 0; i < args.length; i++) {
      String name = args[i];
      if (i + 1 >= args.length) throw new IllegalArgumentException(name + " needs a value");
      String value = args[++i];
      switch (name) {
        case "--brokers" -> brokers = value;
        case "--topic" -> topics.add(value);
        case "--jwks" -> jwks = value;
        case "--group" -> group = value;
        case "--max-messages" -> maxMessages = Long.parseLong(value);
        case "--idle-timeout-ms" -> idleTimeoutMs = Long.parseLong(value);
        default -> throw new IllegalArgumentException("unknown option " + name);
      }
    }
    if (brokers == null || jwks == null || topics.isEmpty()) throw new IllegalArgumentException("--brokers, --topic and --jwks are required");
    return new Options(brokers, topics, jwks, group, maxMessages, idleTimeoutMs);
  }
}
