package cli

import (
	"github.com/spf13/cobra"

	"github.com/secretumvault/secretumvault/client"
)

// openBaoRotateKeys is `operator rotate-keys`: OpenBao's name of the
// rekey, on its token-authenticated sys/rotate/root/*.
var openBaoRotateKeys = rekeyFlavor{
	command: "rotate-keys", noun: "rotation", canceled: "rotation", pastTense: "rotated",
	nonceLabel: "Rotation nonce",
	verified:   "Rotation verification successful. The rotation is complete and the new keys are now active.",
	opts:       []client.RekeyOption{client.WithRotateKeys()},
}

func newOperatorRotateKeysCmd(a *app) *cobra.Command {
	return newRekeyCommand(a, openBaoRotateKeys, "Generate new unseal keys (OpenBao's rekey, with a root token)",
		`OpenBao's name of "operator rekey": the same ceremony and flags, through
OpenBao's token-authenticated sys/rotate/root/* instead of Vault's
unauthenticated sys/rekey/*, so every call needs a root token (VAULT_TOKEN).

Start with -init, then each holder of a current key runs the command with
-nonce and the key (as KEY, "-" for stdin, or prompted for without KEY).
The last key prints the new keys. With -init -verify the new keys replace
the old ones only once a threshold of them has been provided with -verify.`)
}
