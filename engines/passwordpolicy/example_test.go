package passwordpolicy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/secretumvault/secretumvault/engines/passwordpolicy"
)

func Example() {
	p, err := passwordpolicy.Parse(`
length = 16

rule "charset" {
  charset   = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 2
}

rule "charset" {
  charset   = "0123456789"
  min-chars = 3
}
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	pw, err := p.Generate(context.Background(), nil) // crypto/rand
	if err != nil {
		fmt.Println(err)
		return
	}
	digits := 0
	for _, c := range pw {
		if strings.ContainsRune("0123456789", c) {
			digits++
		}
	}
	fmt.Println(utf8.RuneCountInString(pw), digits >= 3)
	// Output: 16 true
}

func ExampleParse_invalid() {
	_, err := passwordpolicy.Parse(`
length = 8
rule "charset" {
  charset   = "abc"
  min-chars = 9
}`)
	fmt.Println(errors.Is(err, passwordpolicy.ErrInvalidPolicy))
	fmt.Println(err)
	// Output:
	// true
	// passwordpolicy: invalid policy: rule 1 (line 3, column 1): min-chars is 9 but length is 8
}

func ExampleDefault() {
	fmt.Print(passwordpolicy.Default().Canonical())
	// Output:
	// length = 20
	//
	// rule "charset" {
	//   charset   = "abcdefghijklmnopqrstuvwxyz"
	//   min-chars = 1
	// }
	//
	// rule "charset" {
	//   charset   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	//   min-chars = 1
	// }
	//
	// rule "charset" {
	//   charset   = "0123456789"
	//   min-chars = 1
	// }
	//
	// rule "charset" {
	//   charset   = "-"
	//   min-chars = 1
	// }
}
