package audit

// LineHash exposes lineHash to the black-box tests.
var LineHash = lineHash
