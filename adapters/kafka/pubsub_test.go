package kafka_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/annals-dev/annals/adapters/kafka"
	"github.com/annals-dev/annals/adapters/kafka/kafkatest"
)

// fullSuite runs Watermill's suite with its full message counts (minutes
// under the race detector) instead of its short ones.
var fullSuite = os.Getenv("ANNALS_KAFKA_FULL_SUITE") != ""

// TestPubSub runs Watermill's universal suite twice: on single-partition
// topics, where the order of all messages is guaranteed, and on
// multi-partition topics, where keyless messages are spread and only group
// delivery is checked.
func TestPubSub(t *testing.T) {
	if !fullSuite {
		t.Log("running the suite's short variant; set ANNALS_KAFKA_FULL_SUITE=1 for its full message counts")
	}
	for _, variant := range []struct {
		name       string
		partitions int
		ordered    bool
	}{
		{name: "one partition", partitions: 1, ordered: true},
		{name: "four partitions", partitions: 4, ordered: false},
	} {
		t.Run(variant.name, func(t *testing.T) {
			brokers := kafkatest.Brokers(t, kfake.DefaultNumPartitions(variant.partitions))
			features := tests.Features{
				ConsumerGroups:      true,
				ExactlyOnceDelivery: false,
				GuaranteedOrder:     variant.ordered,
				Persistent:          true,
				// A new subscriber of the suite's constructor joins the test's
				// group, so it continues where the group is rather than
				// reading old messages; TestConsumerGroups covers fresh groups.
				NewSubscriberReceivesOldMessages: false,
				ForceShort:                       !fullSuite,
			}
			tests.TestPubSub(t, features,
				func(t *testing.T) (message.Publisher, message.Subscriber) {
					return newPubSub(t, brokers, groupOf(t))
				},
				func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
					return newPubSub(t, brokers, group)
				},
			)
		})
	}
}

// groupOf gives every suite test its own consumer group, shared by all the
// subscribers that test builds, so that parallel tests do not rebalance each
// other.
func groupOf(t *testing.T) string {
	return strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
}

func newPubSub(t *testing.T, brokers []string, group string) (*kafka.Publisher, *kafka.Subscriber) {
	t.Helper()
	logger := watermill.NopLogger{}
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: brokers, AllowAutoTopicCreation: true}, logger)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := kafka.NewSubscriber(fastSubscriberConfig(brokers, group), logger)
	if err != nil {
		t.Fatal(err)
	}
	return pub, sub
}

// fastSubscriberConfig shortens the waits that bound rebalances and Close,
// which the suite does hundreds of times.
func fastSubscriberConfig(brokers []string, group string) kafka.SubscriberConfig {
	return kafka.SubscriberConfig{
		Brokers:           brokers,
		ConsumerGroup:     group,
		MaxWait:           100 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		RetryInterval:     10 * time.Millisecond,
	}
}
