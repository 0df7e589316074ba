module github.com/ouroboros-go/ouroboros

go 1.26.0

require (
	github.com/cloudflare/circl v1.6.5
	github.com/pelletier/go-toml/v2 v2.4.3
	golang.org/x/crypto v0.54.0
	golang.org/x/net v0.56.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
	google.golang.org/protobuf v1.36.12
)
