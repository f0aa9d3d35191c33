package cli

import (
	"fmt"

	"github.com/secretumvault/secretumvault/client"
)

// The documents of `operator rekey` and `operator rotate-keys`, as Vault's
// and OpenBao's commands print them.

// rekeyStatusDocument renders a rekey's status: the Key/Value table of
// Vault's command, the status object in json and yaml.
func rekeyStatusDocument(st *client.RekeyStatus) document {
	fields := []field{{"Nonce", orNA(st.Nonce)}, {"Started", st.Started}}
	if st.Started {
		progress := fmt.Sprintf("%d/%d", st.Progress, st.Required)
		if st.Progress == st.Required {
			progress += " (verification in progress)"
		}
		fields = append(fields, field{"Progress", progress})
		if st.N > 0 {
			fields = append(fields, field{"New Shares", st.N})
		}
		if st.T > 0 {
			fields = append(fields, field{"New Threshold", st.T})
		}
		fields = append(fields, field{"Verification Required", st.VerificationRequired})
		if st.VerificationNonce != "" {
			fields = append(fields, field{"Verification Nonce", st.VerificationNonce})
		}
	}
	if len(st.PGPFingerprints) > 0 {
		fields = append(fields, field{"PGP Fingerprints", st.PGPFingerprints}, field{"Backup", st.Backup})
	}
	return document{Value: st, Sections: []section{keyValueSection("", fields)}}
}

// verifyStatusDocument renders the status of a rekey's verification.
func verifyStatusDocument(vs *client.RekeyVerifyStatus) document {
	fields := []field{
		{"Started", vs.Started},
		{"New Shares", vs.N},
		{"New Threshold", vs.T},
		{"Verification Nonce", orNA(vs.Nonce)},
		{"Verification Progress", fmt.Sprintf("%d/%d", vs.Progress, vs.T)},
	}
	return document{Value: vs, Sections: []section{keyValueSection("", fields)}}
}

// rekeyResultOutput is the json/yaml form of a completed rekey update:
// the new keys, as Vault's command prints the update's answer.
type rekeyResultOutput struct {
	Nonce                string   `json:"nonce"`
	Complete             bool     `json:"complete"`
	Keys                 []string `json:"keys"`
	KeysB64              []string `json:"keys_base64"`
	PGPFingerprints      []string `json:"pgp_fingerprints"`
	Backup               bool     `json:"backup"`
	VerificationRequired bool     `json:"verification_required"`
	VerificationNonce    string   `json:"verification_nonce,omitempty"`
}

func rekeyResult(res *client.RekeyUpdateResponse) rekeyResultOutput {
	return rekeyResultOutput{
		Nonce: res.Nonce, Complete: res.Complete, Keys: nonNil(res.Keys), KeysB64: nonNil(res.KeysB64),
		PGPFingerprints: res.PGPFingerprints, Backup: res.Backup,
		VerificationRequired: res.VerificationRequired, VerificationNonce: res.VerificationNonce,
	}
}

// newKeysDocument is the table form of a completed rekey update: the new
// keys (base64 when the server sent them), the rekey's nonce, then
// message.
func newKeysDocument(res *client.RekeyUpdateResponse, message []string) document {
	keys := res.Keys
	if len(res.KeysB64) == len(res.Keys) {
		keys = res.KeysB64
	}
	lines := []string{""}
	for i, k := range keys {
		lines = append(lines, fmt.Sprintf("Key %d: %s", i+1, k))
	}
	if res.Nonce != "" {
		lines = append(lines, "", "Operation nonce: "+res.Nonce)
	}
	lines = append(lines, "")
	lines = append(lines, message...)
	return document{Value: rekeyResult(res), Sections: []section{{Text: lines}}}
}
