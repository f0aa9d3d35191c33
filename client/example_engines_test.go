package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/client"
)

// These examples run against the test server TestMain starts (VAULT_ADDR
// and VAULT_TOKEN point at it), with a database engine at database/ in
// front of a PostgreSQL server, transit at transit/ and PKI at pki/.

func ExampleDatabase_Creds() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	creds, err := c.Database("database").Creds(ctx, "readonly")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("user created:", creds.Username != "" && creds.Password != "")
	fmt.Println("lease:", creds.LeaseDuration, "renewable:", creds.Renewable)
	// Done with the user: revoking the lease drops it from the database.
	if err := c.Leases().Revoke(ctx, creds.LeaseID); err != nil {
		log.Fatal(err)
	}
	// Output:
	// user created: true
	// lease: 1h0m0s renewable: true
}

func ExampleDatabase_StaticCreds() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	creds, err := c.Database("database").StaticCreds(ctx, "app")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(creds.Username, creds.Password != "initial-password", creds.RotationPeriod)
	// Output: app true 86400
}

func ExampleLeases_Renew() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	creds, err := c.Database("database").Creds(ctx, "readonly")
	if err != nil {
		log.Fatal(err)
	}
	r, err := c.Leases().Renew(ctx, creds.LeaseID, 2*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	// The server counts whole seconds left, so allow for the time the
	// call took.
	fmt.Println("renewed for about", (time.Duration(r.LeaseDuration) * time.Second).Round(time.Minute))
	l, err := c.Leases().Lookup(ctx, creds.LeaseID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("renewable:", l.Renewable, "renewed:", l.LastRenewal != nil)
	if err := c.Leases().Revoke(ctx, creds.LeaseID); err != nil {
		log.Fatal(err)
	}
	// Output:
	// renewed for about 2h0m0s
	// renewable: true renewed: true
}

func ExamplePKI_Issue() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	cert, err := c.PKI("pki").Issue(ctx, "web", &client.PKIIssueInput{CommonName: "www.example.com", TTL: "10m"})
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode([]byte(cert.Certificate))
	x, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(x.Subject.CommonName, x.DNSNames, cert.PrivateKeyType)
	// Output: www.example.com [www.example.com] ec
}

func ExamplePKI_Sign() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	// The private key stays here; only the CSR goes to the server.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "api.example.com"}}, key)
	if err != nil {
		log.Fatal(err)
	}
	csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	cert, err := c.PKI("pki").Sign(ctx, "web", &client.PKIIssueInput{CommonName: "api.example.com", CSR: csr})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(cert.Certificate, "-----BEGIN CERTIFICATE-----"), cert.PrivateKey == "")
	// Output: true true
}

func ExamplePKI_Revoke() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	pki := c.PKI("pki")
	cert, err := pki.Issue(ctx, "web", &client.PKIIssueInput{CommonName: "old.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	rev, err := pki.Revoke(ctx, cert.SerialNumber)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rev.State, rev.SerialNumber == cert.SerialNumber)
	// Output: revoked true
}

func ExampleTransit_Encrypt() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	tr := c.Transit("transit")
	ct, err := tr.Encrypt(ctx, "app", []byte("card 4111 1111 1111 1111"))
	if err != nil {
		log.Fatal(err)
	}
	pt, err := tr.Decrypt(ctx, "app", ct.Ciphertext)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(ct.Ciphertext, "vault:v"), string(pt))
	// Output: true card 4111 1111 1111 1111
}

func ExampleTransit_Rewrap() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Write(ctx, "transit/keys/rewrap-demo", nil); err != nil {
		log.Fatal(err)
	}
	tr := c.Transit("transit")
	ct, err := tr.Encrypt(ctx, "rewrap-demo", []byte("data"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Write(ctx, "transit/keys/rewrap-demo/rotate", nil); err != nil {
		log.Fatal(err)
	}
	// Re-encrypt with the new key version without seeing the plaintext.
	rw, err := tr.Rewrap(ctx, "rewrap-demo", ct.Ciphertext)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ct.KeyVersion, "->", rw.KeyVersion)
	// Output: 1 -> 2
}

func ExampleTransit_Sign() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	tr := c.Transit("transit")
	sig, err := tr.Sign(ctx, "signer", []byte("release v1.2.3"))
	if err != nil {
		log.Fatal(err)
	}
	ok, err := tr.Verify(ctx, "signer", []byte("release v1.2.3"), sig.Signature)
	if err != nil {
		log.Fatal(err)
	}
	forged, err := tr.Verify(ctx, "signer", []byte("release v6.6.6"), sig.Signature)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("genuine:", ok, "forged:", forged)
	// Output: genuine: true forged: false
}

func ExampleAWS_Creds() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	// An IAM user with the role's policy and a new access key.
	creds, err := c.AWS("aws").Creds(ctx, "deploy", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(creds.AccessKey, "AKIA"), creds.SecretKey != "", creds.SecurityToken == "", creds.Renewable)
	if err := c.Leases().Revoke(ctx, creds.LeaseID); err != nil { // deletes the user
		log.Fatal(err)
	}
	// Output: true true true true
}
