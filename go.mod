module github.com/secretumvault/secretumvault

go 1.26.0
