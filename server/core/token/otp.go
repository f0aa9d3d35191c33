package token

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
)

// OTPLength is the length of a generate-root one-time password: that of
// a raw token, as Vault's and OpenBao's CLIs expect (they read
// otp_length from sys/generate-root/attempt and decode the encoded token
// by XOR with the OTP).
const OTPLength = len(Prefix) + tokenLen

// ErrOTPLength is returned for an OTP that does not match OTPLength.
var ErrOTPLength = errors.New("token: the OTP must be as long as a token")

// NewOTP returns a random base62 one-time password of OTPLength.
func NewOTP() (string, error) { return randomBase62(OTPLength) }

// EncodeWithOTP XORs a raw token with otp and encodes the result as
// unpadded standard base64: Vault's encoded_token, which
// `vault|bao operator generate-root -decode=... -otp=...` turns back into
// the token.
func EncodeWithOTP(raw, otp string) (string, error) {
	if len(otp) != OTPLength || len(raw) != len(otp) {
		return "", ErrOTPLength
	}
	out := make([]byte, len(raw))
	subtle.XORBytes(out, []byte(raw), []byte(otp))
	return base64.RawStdEncoding.EncodeToString(out), nil
}

// DecodeWithOTP reverses EncodeWithOTP.
func DecodeWithOTP(encoded, otp string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(encoded)
	if err != nil {
		return "", err
	}
	if len(raw) != len(otp) {
		return "", ErrOTPLength
	}
	out := make([]byte, len(raw))
	subtle.XORBytes(out, raw, []byte(otp))
	return string(out), nil
}
