package audit

import (
	"fmt"
	"strings"
	"time"
)

// readme renders README.txt for the bundle of manifest m: what the
// bundle holds and how to check it by hand. Every line starting with
// "    $ " is a command an auditor runs, in order: the first from the
// directory holding bundle.zip, the others from the one it unzips to
// (the tests run them so).
func readme(m *BundleManifest) []byte {
	var logs []string
	for _, l := range m.Logs {
		logs = append(logs, l.File)
	}
	r := strings.NewReplacer("{KEY}", m.KeyFile, "{KEYID}", m.KeyID, "{LOGS}", strings.Join(logs, " "),
		"{DEVICE}", m.Device, "{DOMAIN}", strings.TrimSuffix(manifestDomain, "\n"))
	var b strings.Builder
	b.WriteString(r.Replace(readmeHead))
	fmt.Fprintf(&b, "Range      %s to %s (UTC; each entry's \"time\" field)\n",
		m.Since.Format(time.RFC3339Nano), m.Until.Format(time.RFC3339Nano))
	fmt.Fprintf(&b, "Lines      seq %d to %d: %d entries (%d of them in the range) and %d checkpoints\n",
		m.FirstSeq, m.LastSeq, m.Entries, m.EntriesInRange, m.Checkpoints)
	fmt.Fprintf(&b, "Log files  %s (oldest first)\n", strings.Join(logs, ", "))
	if m.Prefix != "" {
		fmt.Fprintf(&b, "Prefix     every line starts with %q, which hashes and signatures cover\n", m.Prefix)
	}
	if m.UncleanStops > 0 {
		fmt.Fprintf(&b, "Warning    the device stopped uncleanly %d time(s) in these lines (step 6)\n", m.UncleanStops)
	}
	fmt.Fprintf(&b, "Created    %s\n", m.Created.Format(time.RFC3339))
	if m.Signed {
		b.WriteString("Manifest   signed by the device key (manifest.sig)\n")
	} else {
		b.WriteString("Manifest   NOT signed: there is no manifest.sig, so nothing but the\n" +
			"           checkpoints vouches for this bundle (see step 3)\n")
	}
	b.WriteString(r.Replace(readmeFiles))
	b.WriteString(r.Replace(readmeSteps12))
	if m.Signed {
		b.WriteString(r.Replace(readmeStep3Signed))
	} else {
		b.WriteString(r.Replace(readmeStep3Unsigned))
	}
	b.WriteString(r.Replace(readmeSteps45))
	if m.OpenTail > 0 {
		fmt.Fprintf(&b, r.Replace(readmeOpenTail), m.OpenTail)
	}
	b.WriteString(r.Replace(readmeStep6))
	return []byte(b.String())
}

const readmeHead = `SecretumVault audit evidence bundle
===================================

Device     {DEVICE} (public key {KEY}, key id {KEYID})
`

const readmeFiles = `
What is here
------------

logs/              the audit log lines of the range, one JSON object a line,
                   cut at signed checkpoints (see steps 4 and 5)
keys/              the device's Ed25519 public key (PEM, PKIX)
verification.json  the result of verifying the whole log at export time, and
                   of the lines in logs/
policies/          the authorization policies in force at export time (absent
                   when there were none)
controls.md        the SOC 2 and ISO/IEC 27001 controls this evidence serves
manifest.json      every other file with its SHA-256 and size, the range, the
                   seqs and the counts
SHA256SUMS         the same SHA-256s, and manifest.json's, as sha256sum writes
manifest.sig       the device key's signature over manifest.json (step 3)

"vaultctl audit verify-bundle -public-key @TRUSTED.pem bundle.zip" makes every
check below at once and needs no server. Each can also be made by hand with
unzip, sha256sum, sed, awk, base64 and OpenSSL 3. Secret values never appear:
each value in a request or response is written as "hmac-sha256:<hex>", an
HMAC under the device's key ("vaultctl audit hash {DEVICE} VALUE" computes it
for a value you know, to find it in the log).

Start in the directory holding bundle.zip; run the other commands in the
directory it unzips to:

    $ unzip -q bundle.zip -d bundle && cd bundle

`

const readmeSteps12 = `1. Every file is intact

   Every file but SHA256SUMS and manifest.sig must be listed, with the same
   SHA-256, in SHA256SUMS (and in manifest.json's "files"); the bundle must
   hold no other file.

    $ sha256sum -c SHA256SUMS

2. The key is the key you trust

   The key id that names the key in every checkpoint is the first 16 hex
   digits of the SHA-256 of the 32 raw bytes of the key. This must print
   {KEYID}:

    $ openssl pkey -pubin -in {KEY} -outform DER | tail -c 32 | sha256sum | cut -c1-16

   Compare {KEY} with the device's key as you got it from its operator
   through another channel ("vaultctl audit public-key {DEVICE}" prints it):
   whoever holds another key can make a bundle that passes every other check.

`

const readmeStep3Signed = `3. The manifest is signed by the device key

   manifest.sig is the base64 Ed25519 signature, by the device key, of
   the message "{DOMAIN}", a newline, then the 64
   hex digits of the SHA-256 of manifest.json (no final newline). As the
   manifest holds the SHA-256 of every file, it covers the whole bundle.

    $ printf '{DOMAIN}\n%s' "$(sha256sum manifest.json | cut -c1-64)" > manifest.msg
    $ base64 -d manifest.sig > manifest.sig.bin
    $ openssl pkeyutl -verify -pubin -inkey {KEY} -rawin -in manifest.msg -sigfile manifest.sig.bin

`

const readmeStep3Unsigned = `3. The manifest is not signed

   This bundle has no manifest.sig: anyone could have rewritten
   manifest.json, SHA256SUMS, verification.json, the policies or this
   file. What the device key vouches for is the log lines up to their last
   checkpoint (steps 4 and 5): check those against the key you trust.

`

const readmeSteps45 = `4. The chain rule

   Every line carries "seq" and "prev_hash", the hex SHA-256 of the
   previous line's bytes exactly as written (its prefix, if any, included),
   without its newline; a new chain's first line has 64 zeros. "seq" is
   one more than the line before (checkpoints included), except at an open
   checkpoint ("reason":"open", the first line a device writes when it
   starts), where it may jump forward past seqs another node or run of the
   device reserved: never back. Changing, dropping, reordering or inserting
   a line breaks the chain; the files of logs/ form one chain, oldest first.
   The first line is a checkpoint, whose signature commits to everything
   before it, or the device's very first line (seq 1).

    $ cat {LOGS} > all.log
    $ sed 's/.*,"seq":\([0-9]*\),"prev_hash":"\([0-9a-f]*\)".*/\1 \2/' all.log > chain
    $ awk -v opens="$(grep -n '{"time":"[^"]*","type":"checkpoint","hmac_key_gen":[^{]*"reason":"open"' all.log | cut -d: -f1)" 'BEGIN { n = split(opens, o); for (i = 1; i <= n; i++) open[o[i]] = 1 } NR > 1 && $1 != seq + 1 && !(open[NR] && $1 > seq) { print "seq jumps at line " NR; bad = 1 } { seq = $1 } END { exit bad }' chain
    $ while IFS= read -r l; do printf '%s' "$l" | sha256sum | cut -c1-64; done < all.log | sed '$d' > hashes
    $ cut -d' ' -f2 chain | tail -n +2 | cmp - hashes && echo chain OK

5. The checkpoints are signed by the device key

   A checkpoint is a line {"time":..,"type":"checkpoint","hmac_key_gen":..,
   "seq":..,"prev_hash":..,"count":..,"key_id":..,"reason":..,"signature":".."}
   written when a device starts or opens a new file (reason "open"), after
   every so many entries ("interval"), as the last line of a rotated file
   ("rotate") and when it stops ("close"). Its signature is Ed25519, by the
   device key, over the line (its prefix included) without its
   ,"signature":"..." field, always the last: the line ending in "}" with no
   newline. Through prev_hash, a checkpoint commits to every line before
   it. The last checkpoint:

    $ grep '{"time":"[^"]*","type":"checkpoint","hmac_key_gen":' all.log | tail -n 1 > checkpoint
    $ sed 's/,"signature":"[^"]*"}$/}/' checkpoint | tr -d '\n' > checkpoint.msg
    $ sed 's/.*,"signature":"\([^"]*\)"}$/\1/' checkpoint | base64 -d > checkpoint.sig
    $ openssl pkeyutl -verify -pubin -inkey {KEY} -rawin -in checkpoint.msg -sigfile checkpoint.sig

   Every checkpoint (each must also name key_id {KEYID}):

    $ grep '{"time":"[^"]*","type":"checkpoint","hmac_key_gen":' all.log | while IFS= read -r l; do printf '%s' "$l" | sed 's/,"signature":"[^"]*"}$/}/' | tr -d '\n' > cp.msg; printf '%s' "$l" | sed 's/.*,"signature":"\([^"]*\)"}$/\1/' | base64 -d > cp.sig; openssl pkeyutl -verify -pubin -inkey {KEY} -rawin -in cp.msg -sigfile cp.sig > /dev/null || exit 1; done && echo checkpoints OK
    $ grep '{"time":"[^"]*","type":"checkpoint","hmac_key_gen":' all.log | grep -v -c '"key_id":"{KEYID}"' | grep -qx 0 && echo key ids OK

`

const readmeOpenTail = `   The log was live at export: its last %d entries come after its last
   checkpoint, so only manifest.sig (step 3) vouches for them.

`

const readmeStep6 = `6. The range

   logs/ holds more than the range: from the checkpoint before the first
   entry of the range to the first checkpoint after its last entry, so
   that every line is signed. manifest.json's "entries_in_range" counts the
   entries whose "time" is within the range, "gaps" the seq jumps at open
   checkpoints, and "unclean_stops" the open checkpoints that do not follow
   a "close" or "rotate" checkpoint: the device stopped without closing its
   log (a crash or power loss), and the last entries it wrote before may be
   lost. verification.json also holds the verification of the whole log the
   export read (a problem there outside the range is reported, not
   exported).
`
