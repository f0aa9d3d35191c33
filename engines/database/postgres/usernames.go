package postgres

import (
	"errors"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// usernameRules are PostgreSQL's: a username is clipped to
// MaxUsernameLength bytes (as the server clips identifiers) and, as
// statements take it between quotes unescaped, holds no quote (quotes
// and control characters in the metadata become '_').
var usernameRules = dbplugin.UsernameRules{MaxLen: MaxUsernameLength, Clip: true, NoQuotes: true}

// newUsernameTemplate parses raw, which must not be blank, and renders it
// once with empty metadata, as Vault does, so that a template that cannot
// render (or renders a quote or control character) fails at config time.
// Rendering nothing from empty metadata is allowed.
func newUsernameTemplate(raw string) (*dbplugin.UsernameTemplate, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("empty template")
	}
	u, err := dbplugin.ParseUsernameTemplate(raw)
	if err != nil {
		return nil, err
	}
	name, err := u.Execute(dbplugin.UsernameMetadata{})
	if err != nil {
		return nil, err
	}
	if name != "" {
		if err := usernameRules.Check(name); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// generateUsername renders a username for meta under usernameRules; a
// username that breaks them is ErrInvalidRequest.
func generateUsername(u *dbplugin.UsernameTemplate, meta dbplugin.UsernameMetadata) (string, error) {
	name, err := u.Render(meta, usernameRules)
	if errors.Is(err, dbplugin.ErrInvalidUsername) {
		return "", fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return name, err
}

// checkUsername reports, as ErrInvalidRequest, whether name cannot be
// substituted into "{{name}}" and '{{name}}' without escaping: empty, not
// valid UTF-8, holding a quote or control character.
func checkUsername(name string) error {
	if err := usernameRules.Check(name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return nil
}
