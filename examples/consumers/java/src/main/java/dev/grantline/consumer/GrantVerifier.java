package dev.grantline.consumer;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.util.JSONObjectUtils;
import java.io.IOException;
import java.net.URL;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.erdtman.jcs.JsonCanonicalizer;

/**
 * Verifies grantline messages (grants, revocations, rejections): {@code signature} is a detached
 * compact JWS (RFC 7515 appendix F, {@code <header>..<signature>}) made with EdDSA/Ed25519 over the
 * base64url of the RFC 8785 canonical JSON of the message without {@code signature}, with a key
 * from grantline's JWK Set ({@code /.well-known/jwks.json}).
 */
public final class GrantVerifier {
  /** The JWS {@code typ} of every grantline signature. */
  public static final String TYP = "grantline-message+jws";

  // DER of an X.509 SubjectPublicKeyInfo for Ed25519 (RFC 8410), up to the 32 key bytes. The JDK
  // has Ed25519 since 15 but takes no JWK: the raw `x` of the JWK goes in after this prefix.
  private static final byte[] ED25519_SPKI_PREFIX = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
  };

  private final Map<String, PublicKey> keys;

  private GrantVerifier(Map<String, PublicKey> keys) {
    this.keys = Collections.unmodifiableMap(keys);
  }

  /** Fetches grantline's JWK Set. Retired keys stay in it, so old messages still verify. */
  public static GrantVerifier fromJwksUrl(URL url) throws IOException, ParseException, GeneralSecurityException {
    return fromJwks(JWKSet.load(url, 5_000, 5_000, 1_000_000));
  }

  /** Uses the Ed25519 keys of a JWK Set and ignores any other. */
  public static GrantVerifier fromJwks(JWKSet set) throws GeneralSecurityException {
    Map<String, PublicKey> keys = new HashMap<>();
    KeyFactory factory = KeyFactory.getInstance("Ed25519");
    for (JWK jwk : set.getKeys()) {
      if (!(jwk instanceof OctetKeyPair okp) || !Curve.Ed25519.equals(okp.getCurve()) || jwk.getKeyID() == null) continue;
      byte[] x = okp.getDecodedX();
      if (x.length != 32) continue;
      byte[] spki = new byte[ED25519_SPKI_PREFIX.length + x.length];
      System.arraycopy(ED25519_SPKI_PREFIX, 0, spki, 0, ED25519_SPKI_PREFIX.length);
      System.arraycopy(x, 0, spki, ED25519_SPKI_PREFIX.length, x.length);
      keys.put(jwk.getKeyID(), factory.generatePublic(new X509EncodedKeySpec(spki)));
    }
    return new GrantVerifier(keys);
  }

  /** The outcome of verifying one message value. {@code message} is null when it is not JSON. */
  public record Verdict(boolean ok, String kid, String detail, Map<String, Object> message) {}

  /** Verifies a Kafka message value (the JSON text as received). Never throws for bad input. */
  public Verdict verify(String value) {
    Map<String, Object> message;
    try {
      message = JSONObjectUtils.parse(value);
    } catch (ParseException e) {
      return new Verdict(false, null, "the value is not a JSON object: " + e.getMessage(), null);
    }
    if (!(message.get("signature") instanceof String signature)) {
      return new Verdict(false, null, "the message has no signature", message);
    }

    // What was signed: the message without `signature`, in RFC 8785 form. The Kafka value is not
    // canonical, so its bytes are never what is verified. Any JSON writer may produce the input
    // of the canonicalizer (it parses it again); only the canonicalizer's output is signed.
    Map<String, Object> unsigned = new LinkedHashMap<>(message);
    unsigned.remove("signature");
    byte[] canonical;
    try {
      canonical = new JsonCanonicalizer(JSONObjectUtils.toJSONString(unsigned)).getEncodedUTF8();
    } catch (IOException e) {
      return new Verdict(false, null, "the message cannot be canonicalized: " + e.getMessage(), message);
    }

    JWSObject jws;
    try {
      // The detached payload goes back in; with `b64` unset Nimbus base64url-encodes it for the signing input.
      jws = JWSObject.parse(signature, new Payload(canonical));
    } catch (ParseException e) {
      return new Verdict(false, null, "the signature is not a compact JWS: " + e.getMessage(), message);
    }
    JWSHeader header = jws.getHeader();
    String kid = header.getKeyID();
    if (!JWSAlgorithm.EdDSA.equals(header.getAlgorithm())) {
      return new Verdict(false, kid, "header alg is " + header.getAlgorithm() + ", only EdDSA is accepted", message);
    }
    if (header.getType() == null || !TYP.equals(header.getType().getType())) {
      return new Verdict(false, kid, "header typ is not " + TYP + ": this signature was made for something else", message);
    }
    if (header.getIncludedParams().contains("crit") || header.getIncludedParams().contains("b64")) {
      return new Verdict(false, kid, "header carries crit or b64, which grantline signatures never use", message);
    }
    PublicKey key = kid == null ? null : keys.get(kid);
    if (key == null) {
      return new Verdict(false, kid, "no Ed25519 key with kid " + kid + " in the JWKS (it has " + keys.keySet() + ")", message);
    }
    byte[] sig = jws.getSignature().decode();
    try {
      Signature verifier = Signature.getInstance("Ed25519");
      verifier.initVerify(key);
      verifier.update(jws.getSigningInput());
      if (sig.length != 64 || !verifier.verify(sig)) {
        return new Verdict(false, kid, "signature does not match: the message was altered after signing, or signed by another key", message);
      }
    } catch (GeneralSecurityException e) {
      return new Verdict(false, kid, "signature check failed: " + e.getMessage(), message);
    }
    return new Verdict(true, kid, "signature valid", message);
  }
}
