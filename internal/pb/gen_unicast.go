package pb

// The unicast layer's messages between IPCPs: OCEP (cep.proto), enrollment
// (enroll.proto) and the DHT directory (dht.proto).
//
//go:generate protoc --go_out=. --go_opt=paths=source_relative cep.proto enroll.proto dht.proto
