package xmlsec

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// referencesFromVerified re-parses the signed SignedInfo octets and reads
// the references from that copy only.
func referencesFromVerified(canonical []byte, p VerifyPolicy) ([]ReferenceSpec, error) {
	doc, err := ParseBytes(canonical, DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("%w: signed SignedInfo does not re-parse: %w", ErrMalformedSignature, err)
	}
	root := doc.Root()
	parts, err := expectChildren(root, "CanonicalizationMethod", "SignatureMethod", "Reference+")
	if err != nil || !isDSig(root, "SignedInfo") {
		return nil, fmt.Errorf("%w: signed SignedInfo changed shape", ErrMalformedSignature)
	}
	var out []ReferenceSpec
	seen := map[string]bool{}
	for _, r := range parts["Reference"] {
		spec, err := readReference(r, p)
		if err != nil {
			return nil, err
		}
		if seen[spec.URI] {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateReference, spec.URI)
		}
		seen[spec.URI] = true
		out = append(out, spec)
	}
	for _, req := range p.Required {
		if !seen[req] {
			return nil, fmt.Errorf("%w: %q", ErrMissingReference, req)
		}
	}
	return out, nil
}

func readReference(r *etree.Element, p VerifyPolicy) (ReferenceSpec, error) {
	uriAttr := r.SelectAttr("URI")
	if uriAttr == nil || uriAttr.Space != "" {
		return ReferenceSpec{}, fmt.Errorf("%w: Reference without URI", ErrURINotAllowed)
	}
	spec := ReferenceSpec{URI: uriAttr.Value, C14N: C14NOptions{Method: C14N10}}
	local, err := checkURI(spec.URI, p)
	if err != nil {
		return spec, err
	}
	parts, err := expectChildren(r, "Transforms?", "DigestMethod", "DigestValue")
	if err != nil {
		return spec, err
	}
	if tr := parts["Transforms"]; len(tr) == 1 {
		if !local {
			return spec, fmt.Errorf("%w: transforms on attachment reference %q", ErrAlgorithmNotAllowed, spec.URI)
		}
		if err := readTransforms(tr[0], &spec); err != nil {
			return spec, err
		}
	}
	if spec.DigestMethod, err = algorithmOf(parts["DigestMethod"][0]); err != nil {
		return spec, err
	}
	if _, err := allowedDigest(spec.DigestMethod, p.DigestMethods); err != nil {
		return spec, err
	}
	if spec.DigestValue, err = decodeBase64(parts["DigestValue"][0].Text()); err != nil {
		return spec, fmt.Errorf("%w: DigestValue: %v", ErrMalformedSignature, err)
	}
	return spec, nil
}

// checkURI admits "#Id", "cid:..." and, by policy, "" (whole document). It
// reports whether the URI is same-document.
func checkURI(uri string, p VerifyPolicy) (bool, error) {
	switch {
	case uri == "":
		if !p.AllowWholeDocument {
			return false, fmt.Errorf("%w: whole-document reference", ErrURINotAllowed)
		}
		return true, nil
	case idURI.MatchString(uri):
		return true, nil
	case strings.HasPrefix(uri, "cid:") && len(uri) > 4 && len(uri) <= 1024 &&
		strings.IndexFunc(uri, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0:
		return false, nil
	}
	return false, fmt.Errorf("%w: %q", ErrURINotAllowed, uri)
}

func readTransforms(tr *etree.Element, spec *ReferenceSpec) error {
	list, err := expectChildren(tr, "Transform+")
	if err != nil {
		return err
	}
	transforms := list["Transform"]
	if len(transforms) > 2 {
		return fmt.Errorf("%w: %d transforms", ErrAlgorithmNotAllowed, len(transforms))
	}
	for i, t := range transforms {
		alg, err := algorithmOf(t)
		if err != nil {
			return err
		}
		if alg == EnvelopedSignature && i == 0 && len(t.ChildElements()) == 0 {
			spec.Enveloped = true
			continue
		}
		if alg == Base64Transform && len(transforms) == 1 && len(t.ChildElements()) == 0 {
			spec.Base64 = true
			continue
		}
		if i != len(transforms)-1 {
			return fmt.Errorf("%w: transform %q before the last position", ErrAlgorithmNotAllowed, alg)
		}
		o, err := c14nMethod(t)
		if err != nil {
			return err
		}
		spec.C14N = o
	}
	return nil
}
