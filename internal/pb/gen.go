// Package pb holds the protobuf messages of the IRMd control protocol, generated from
// the .proto files in this directory. The .proto files are written from the field
// numbers and types of the reference's messages (proto2, required fields as in the reference),
// so that the reference's irm tool and libraries can talk to our daemons.
//
// Regenerate with: go generate ./internal/pb (needs protoc and protoc-gen-go).
package pb

//go:generate protoc --go_out=. --go_opt=paths=source_relative model.proto ipcp_config.proto irm.proto ipcp.proto
