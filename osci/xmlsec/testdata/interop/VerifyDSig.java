// VerifyDSig verifies the first ds:Signature of each file with the JDK's
// XML-DSig implementation (javax.xml.crypto.dsig), trusting only the key of
// the given certificate; KeyInfo is ignored. Every attribute named Id is
// registered as an XML ID so that "#Id" references resolve.
//
// Usage: java VerifyDSig.java CERT.pem FILE...
// Prints one line per file: "FILE: valid METHOD" or "FILE: invalid REASON".
// Exits 0 when every file was read (whatever the verdicts), 2 on usage or I/O errors.

import java.io.FileInputStream;
import java.security.Key;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.xml.crypto.AlgorithmMethod;
import javax.xml.crypto.KeySelector;
import javax.xml.crypto.KeySelectorResult;
import javax.xml.crypto.XMLCryptoContext;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.XMLSignature;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMValidateContext;
import javax.xml.crypto.dsig.keyinfo.KeyInfo;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

public class VerifyDSig {
    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: java VerifyDSig.java CERT.pem FILE...");
            System.exit(2);
        }
        X509Certificate cert;
        try (FileInputStream in = new FileInputStream(args[0])) {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        PublicKey trusted = cert.getPublicKey();
        DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
        dbf.setNamespaceAware(true);
        dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        XMLSignatureFactory fac = XMLSignatureFactory.getInstance("DOM");
        for (int i = 1; i < args.length; i++) {
            Document doc;
            try (FileInputStream in = new FileInputStream(args[i])) {
                doc = dbf.newDocumentBuilder().parse(in);
            }
            registerIds(doc.getDocumentElement());
            NodeList sigs = doc.getElementsByTagNameNS(XMLSignature.XMLNS, "Signature");
            if (sigs.getLength() == 0) {
                System.out.println(args[i] + ": invalid no signature");
                continue;
            }
            DOMValidateContext ctx = new DOMValidateContext(new KeySelector() {
                public KeySelectorResult select(KeyInfo ki, Purpose p, AlgorithmMethod m, XMLCryptoContext c) {
                    return new KeySelectorResult() {
                        public Key getKey() { return trusted; }
                    };
                }
            }, sigs.item(0));
            try {
                XMLSignature sig = fac.unmarshalXMLSignature(ctx);
                String method = sig.getSignedInfo().getSignatureMethod().getAlgorithm();
                if (sig.validate(ctx)) {
                    System.out.println(args[i] + ": valid " + method);
                    continue;
                }
                StringBuilder why = new StringBuilder(sig.getSignatureValue().validate(ctx) ? "" : "signature value;");
                for (Object o : sig.getSignedInfo().getReferences()) {
                    Reference r = (Reference) o;
                    if (!r.validate(ctx)) {
                        why.append(" digest of ").append(r.getURI()).append(";");
                    }
                }
                System.out.println(args[i] + ": invalid " + why);
            } catch (Exception e) {
                System.out.println(args[i] + ": invalid " + e);
            }
        }
    }

    static void registerIds(Element e) {
        if (e.hasAttributeNS(null, "Id")) {
            e.setIdAttributeNS(null, "Id", true);
        }
        for (org.w3c.dom.Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element) {
                registerIds((Element) n);
            }
        }
    }
}
