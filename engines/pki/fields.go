package pki

import "github.com/secretumvault/secretumvault/engines/framework"

// nameRe is Vault's framework.GenericNameRegex("name").
const nameRe = `(?P<name>\w(([\w-.]+)?\w)?)`

// refRe captures an issuer reference (an id, a name or "default").
const refRe = `(?P<issuer_ref>[\w-]+)`

// typeRe captures the exported|internal of a CA generation.
const typeRe = `(?P<exported>internal|exported|existing|kms)`

type fields = map[string]*framework.FieldSchema

// merge returns the union of field sets (later ones win).
func merge(sets ...fields) fields {
	out := fields{}
	for _, s := range sets {
		for k, v := range s {
			out[k] = v
		}
	}
	return out
}

// subjectFields are the subject and SAN fields of CA generation and
// signing requests.
func subjectFields() fields {
	str := func(desc string) *framework.FieldSchema {
		return &framework.FieldSchema{Type: framework.TypeStringSlice, Description: desc}
	}
	return fields{
		"common_name":          {Type: framework.TypeString, Description: "The requested common name."},
		"alt_names":            str("DNS names and email addresses for the Subject Alternative Names."),
		"ip_sans":              str("IP addresses for the Subject Alternative Names."),
		"organization":         str("O (Organization) values of the subject."),
		"ou":                   str("OU (OrganizationalUnit) values of the subject."),
		"country":              str("C (Country) values of the subject."),
		"locality":             str("L (Locality) values of the subject."),
		"province":             str("ST (Province) values of the subject."),
		"exclude_cn_from_sans": {Type: framework.TypeBool, Description: "Leave the common name out of the SANs."},
		"ttl":                  {Type: framework.TypeDuration, Description: "Requested validity (bounded by the role, the mount and the issuer)."},
		"format":               {Type: framework.TypeString, Default: "pem", Description: `Output format: "pem", "der" or "pem_bundle".`},
		"private_key_format":   {Type: framework.TypeString, Default: "der", Description: `Private key encoding: "der" (PEM-wrapped PKCS#1/SEC1) or "pkcs8".`},
	}
}

// caFields are the extra fields of a CA generation.
func caFields() fields {
	return fields{
		"exported":        {Type: framework.TypeString},
		"key_type":        {Type: framework.TypeString, Default: "rsa", Description: `"rsa", "ec" or "ed25519".`},
		"key_bits":        {Type: framework.TypeInt, Description: "Key size (rsa: 2048; ec: 256 by default)."},
		"key_name":        {Type: framework.TypeString, Description: "Name of the new key."},
		"issuer_name":     {Type: framework.TypeString, Description: "Name of the new issuer."},
		"max_path_length": {Type: framework.TypeInt, Default: -1, Description: "Path length constraint (-1: none)."},
	}
}
