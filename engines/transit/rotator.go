package transit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
)

var _ logical.Rotator = (*Backend)(nil)

// targetPrefix is the rotation target path of a key: keys/<name>.
const targetPrefix = "keys/"

// guardPrefixes are the paths that use or hand out a key, each followed
// by its name (sign/<name> also stands for sign/<name>/<algorithm>, and
// export/encryption-key/<name> for its versions).
var guardPrefixes = []string{
	"encrypt/", "decrypt/", "rewrap/", "datakey/plaintext/", "datakey/wrapped/",
	"sign/", "verify/", "hmac/",
	"export/" + exportEncryption + "/", "export/" + exportSigning + "/", "export/" + exportHMAC + "/",
}

// RotationTargets implements logical.Rotator: every key is a target
// keys/<name>, aged from its latest version's creation time and guarding
// the paths that encrypt, decrypt, sign, verify or HMAC with it.
func (b *Backend) RotationTargets(ctx context.Context, s logical.Storage) ([]logical.RotationTarget, error) {
	names, err := listPolicies(ctx, s)
	if err != nil {
		return nil, err
	}
	out := make([]logical.RotationTarget, 0, len(names))
	var errs []error
	for _, name := range names {
		k, err := b.key(ctx, s, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if k == nil {
			continue // deleted meanwhile
		}
		guards := make([]string, len(guardPrefixes))
		for i, g := range guardPrefixes {
			guards[i] = g + name
		}
		out = append(out, logical.RotationTarget{
			Path:        targetPrefix + name,
			LastRotated: k.p.entry(k.p.LatestVersion).CreationTime,
			Guards:      guards,
		})
	}
	return out, errors.Join(errs...)
}

// Rotate implements logical.Rotator: keys/<name> gets a new version, as
// keys/<name>/rotate does; Version is its number.
func (b *Backend) Rotate(ctx context.Context, s logical.Storage, path string) (logical.RotationResult, error) {
	name, ok := strings.CutPrefix(path, targetPrefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		return logical.RotationResult{}, fmt.Errorf("transit: rotation target %q: %w", path, logical.ErrNotFound)
	}
	k, err := b.update(ctx, s, name, func(p *policy) (*policy, error) {
		if p == nil {
			return nil, fmt.Errorf("transit: rotation target %q: %w", path, logical.ErrNotFound)
		}
		return p, b.rotate(p)
	})
	if err != nil {
		return logical.RotationResult{}, err
	}
	latest := k.p.LatestVersion
	b.log.InfoContext(ctx, "transit: key rotated by a rotation policy", "key", name, "version", latest)
	return logical.RotationResult{
		Version:   strconv.Itoa(latest),
		RotatedAt: k.p.entry(latest).CreationTime,
	}, nil
}

// Verify implements logical.Rotator: a transit key lives only here, so
// there is nothing outside to check.
func (b *Backend) Verify(context.Context, logical.Storage, string) error {
	return fmt.Errorf("transit: verify: %w", logical.ErrUnsupportedOperation)
}
