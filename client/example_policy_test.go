package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/secretumvault/secretumvault/client"
)

func ExampleSys_PutCedarPolicy() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	err = c.Sys().PutCedarPolicy(ctx, "dev-read",
		`permit (principal in Group::"dev", action == Action::"read", resource in Secret::"secret/data/dev");`)
	var pe *client.PolicyError
	if errors.As(err, &pe) {
		fmt.Printf("dev-read.cedar:%d:%d: %v\n", pe.Line, pe.Column, pe)
		return
	}
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleSys_Explain() {
	ctx := context.Background()
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	e, err := c.Sys().Explain(ctx, &client.ExplainRequest{Path: "secret/data/prod/db", Operation: "read", EntityName: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Allowed, e.Reason, e.PolicyIDs)
}

func ExampleClient_LoginUserpass() {
	ctx := context.Background()
	c, err := client.New(client.WithToken(""))
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.LoginUserpass(ctx, "userpass", "alice", os.Getenv("ALICE_PASSWORD"))
	if err != nil {
		log.Fatal(err)
	}
	c.SetToken(s.Auth.ClientToken)
	fmt.Println("policies:", s.Auth.Policies)
}
