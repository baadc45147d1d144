package kafka

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/segmentio/kafka-go"
)

// UUIDHeader carries a Watermill message's UUID; the name is the one other
// Watermill Kafka implementations use, so their consumers understand ours.
const UUIDHeader = "_watermill_message_uuid"

// toKafka turns a Watermill message into a Kafka message: metadata become
// headers, and the keyField metadata value (if any) becomes the key.
func toKafka(topic, keyField string, msg *message.Message) kafka.Message {
	headers := make([]kafka.Header, 0, len(msg.Metadata)+1)
	headers = append(headers, kafka.Header{Key: UUIDHeader, Value: []byte(msg.UUID)})
	for k, v := range msg.Metadata {
		headers = append(headers, kafka.Header{Key: k, Value: []byte(v)})
	}
	var key []byte
	if v := msg.Metadata.Get(keyField); v != "" {
		key = []byte(v)
	}
	return kafka.Message{Topic: topic, Key: key, Value: msg.Payload, Headers: headers}
}

// fromKafka turns a consumed Kafka message back into a Watermill message.
// Messages from producers that set no UUID header get an id derived from
// their place in the log, so redeliveries of one record share an id.
func fromKafka(km kafka.Message) *message.Message {
	uuid := ""
	metadata := make(message.Metadata, len(km.Headers))
	for _, h := range km.Headers {
		if h.Key == UUIDHeader {
			uuid = string(h.Value)
			continue
		}
		metadata.Set(h.Key, string(h.Value))
	}
	if uuid == "" {
		uuid = fmt.Sprintf("%s/%d/%d", km.Topic, km.Partition, km.Offset)
	}
	msg := message.NewMessage(uuid, km.Value)
	msg.Metadata = metadata
	return msg
}
