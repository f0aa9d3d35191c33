package mysql

import "github.com/secretumvault/secretumvault/engines/database/dbplugin"

// usernameRules are MySQL's for a limit of maxLen bytes (MaxUsernameLength
// or LegacyMaxUsernameLength): a longer username is an error, not cut;
// quotes are allowed, as statements escape the username.
func usernameRules(maxLen int) dbplugin.UsernameRules {
	return dbplugin.UsernameRules{MaxLen: maxLen}
}

// newUsernameTemplate parses text and checks that it renders a valid
// username of at most maxLen bytes from empty metadata, as Vault checks
// templates at configuration time.
func newUsernameTemplate(text string, maxLen int) (*dbplugin.UsernameTemplate, error) {
	u, err := dbplugin.ParseUsernameTemplate(text)
	if err != nil {
		return nil, err
	}
	if _, err := u.Render(dbplugin.UsernameMetadata{}, usernameRules(maxLen)); err != nil {
		return nil, err
	}
	return u, nil
}
