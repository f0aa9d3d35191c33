package e2e

import (
	"crypto/x509"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestLoginCert runs vaultd with a TLS API listener, registers a client
// CA at auth/cert/certs/web with allowed_common_names, and logs in over
// TLS: a certificate that CA signed for an allowed CN gets a token whose
// entity is the Service named after the CN (and a Cedar policy on it
// permits); an unallowed CN, a certificate from another CA (even the
// server's own) and no certificate at all are refused with Vault's 400s.
func TestLoginCert(t *testing.T) {
	serverCA := newTestCA(t, "e2e server CA")
	clientCA := newTestCA(t, "e2e client CA")
	otherCA := newTestCA(t, "e2e other CA")
	s := newTLSServer(t, serverCA)
	rootToken := tlsInitUnseal(t, s, serverCA)
	root := tlsClient(t, s, serverCA, nil, rootToken)

	writeOK(t, root, "sys/auth/cert", map[string]any{"type": "cert"})
	writeOK(t, root, "auth/cert/certs/web", map[string]any{
		"certificate": string(clientCA.pem), "allowed_common_names": []string{"web-frontend"}, "token_policies": []string{"web"},
	})
	role := readOK(t, root, "auth/cert/certs/web").Data
	if pemText, _ := role["certificate"].(string); strings.TrimSpace(pemText) != strings.TrimSpace(string(clientCA.pem)) ||
		!slices.Equal(stringList(role["allowed_common_names"]), []string{"web-frontend"}) {
		t.Fatalf("certs/web read: allowed_common_names %v, certificate %v, want [web-frontend] and the CA as registered", role["allowed_common_names"], role["certificate"])
	}
	writeOK(t, root, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	writeOK(t, root, "secret/data/web/tls", map[string]any{"data": map[string]any{"cookie_key": "k"}})

	good, _, _ := clientCA.issue(t, "web-frontend", x509.ExtKeyUsageClientAuth)
	sec, err := tlsClient(t, s, serverCA, &good, "").Logical().Write("auth/cert/login", nil)
	auth := wantLogin(t, "cert login", sec, err)
	if !slices.Equal(auth.Policies, []string{"default", "web"}) || auth.Metadata["common_name"] != "web-frontend" || auth.Metadata["cert_name"] != "web" {
		t.Errorf("cert auth: policies %v metadata %v, want [default web], common_name web-frontend, cert_name web", auth.Policies, auth.Metadata)
	}
	// The token works over TLS without a client certificate.
	web := tlsClient(t, s, serverCA, nil, auth.ClientToken)
	self := readOK(t, web, "auth/token/lookup-self").Data
	if self["entity_id"] != auth.EntityID || !slices.Equal(stringList(self["policies"]), []string{"default", "web"}) {
		t.Errorf("lookup-self: entity_id %v policies %v", self["entity_id"], self["policies"])
	}
	e := readOK(t, root, "identity/entity/id/"+auth.EntityID).Data
	if e["name"] != "web-frontend" || e["cedar_type"] != "Service" {
		t.Errorf("entity: name %v cedar_type %v, want web-frontend Service", e["name"], e["cedar_type"])
	}
	_, err = web.Logical().Read("secret/data/web/tls")
	wantErrStatus(t, "read before the Cedar policy", err, http.StatusForbidden)
	putCedar(t, root, "web", `permit(principal == Service::"web-frontend", action == Action::"read", resource in Secret::"secret/data/web");`)
	if got, err := web.Logical().Read("secret/data/web/tls"); err != nil || got == nil {
		t.Errorf("read permitted for Service::\"web-frontend\": %+v, %v", got, err)
	}

	wrongCN, _, _ := clientCA.issue(t, "db-admin", x509.ExtKeyUsageClientAuth)
	foreign, _, _ := otherCA.issue(t, "web-frontend", x509.ExtKeyUsageClientAuth)
	serverSigned, _, _ := serverCA.issue(t, "web-frontend", x509.ExtKeyUsageClientAuth)
	for _, tc := range []struct {
		name string
		hc   *http.Client
		msg  string // Vault's message
	}{
		{"CN not in allowed_common_names", tlsHTTPClient(serverCA, &wrongCN), "no chain matching all constraints could be found for this login certificate"},
		{"certificate from another CA", tlsHTTPClient(serverCA, &foreign), "invalid certificate or no client certificate supplied"},
		{"certificate from the server's CA", tlsHTTPClient(serverCA, &serverSigned), "invalid certificate or no client certificate supplied"},
		{"no client certificate", tlsHTTPClient(serverCA, nil), "client certificate must be supplied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := postJSONTo(t, tc.hc, tlsURL(s)+"/v1/auth/cert/login", map[string]any{})
			if errs := stringList(out["errors"]); status != http.StatusBadRequest || out["auth"] != nil || !slices.Equal(errs, []string{tc.msg}) {
				t.Errorf("status %d auth %v errors %q, want 400 [%q] and no auth", status, out["auth"], errs, tc.msg)
			}
		})
	}
	// The good certificate still logs in onto the same entity.
	status, out := postJSONTo(t, tlsHTTPClient(serverCA, &good), tlsURL(s)+"/v1/auth/cert/login", map[string]any{})
	if a, _ := out["auth"].(map[string]any); status != http.StatusOK || a["entity_id"] != auth.EntityID {
		t.Errorf("second good login: status %d entity %v, want 200 and %s", status, a["entity_id"], auth.EntityID)
	}
}
