package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// op is one unit of load: an append, a request, a command. It returns the
// latency to record, which is usually its own duration (see timed) but may
// be a part of it (the projection lag after a command).
type op func(ctx context.Context, worker int) (time.Duration, error)

// timed records the whole duration of f.
func timed(f func(ctx context.Context, worker int) error) op {
	return func(ctx context.Context, worker int) (time.Duration, error) {
		began := time.Now()
		err := f(ctx, worker)
		return time.Since(began), err
	}
}

// bound stops a measurement at whichever comes first.
type bound struct {
	duration time.Duration
	maxOps   int
}

// sample is what one or more measurements of the same thing gathered.
type sample struct {
	ops       int
	elapsed   time.Duration
	latencies []time.Duration
}

func (s *sample) add(o sample) {
	s.ops += o.ops
	s.elapsed += o.elapsed
	s.latencies = append(s.latencies, o.latencies...)
}

// rate is operations per second.
func (s sample) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.ops) / s.elapsed.Seconds()
}

// percentile is the latency below which a fraction q of the samples fall,
// read from the sorted samples (nearest rank).
func (s sample) percentile(q float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	sorted := slices.Clone(s.latencies)
	slices.Sort(sorted)
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(rank, 0)]
}

// closedLoop runs workers that each issue one operation after the other
// until the bound is reached: the throughput a number of concurrent clients
// gets. Every worker does at least one, however late it starts on a busy
// machine. The first failure ends the measurement.
func closedLoop(ctx context.Context, workers int, b bound, o op) (sample, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	deadline := time.Now().Add(b.duration)
	var started atomic.Int64
	perWorker := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	began := time.Now()
	for w := range workers {
		wg.Go(func() {
			for first := true; (first || time.Now().Before(deadline)) && started.Add(1) <= int64(b.maxOps); first = false {
				latency, err := o(ctx, w)
				if err != nil {
					cancel(err)
					return
				}
				perWorker[w] = append(perWorker[w], latency)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	if err := context.Cause(ctx); err != nil {
		return sample{}, err
	}
	s := sample{elapsed: elapsed}
	for _, l := range perWorker {
		s.latencies = append(s.latencies, l...)
	}
	s.ops = len(s.latencies)
	return s, nil
}

// openLoop starts operations at a fixed rate whether or not the earlier
// ones have finished, as independent clients do, until the bound is
// reached; then it waits for those in flight. The first starts at once. A
// tick that finds maxInFlight operations running is skipped, so that an
// overloaded system shows as a lower achieved rate rather than as unbounded
// goroutines.
func openLoop(ctx context.Context, perSecond int, maxInFlight int, b bound, o op) (sample, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	deadline := time.After(b.duration)
	slots := make(chan struct{}, maxInFlight)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
	)
	began := time.Now()
loop:
	for n := 0; n < b.maxOps; {
		select {
		case slots <- struct{}{}:
			worker := n
			n++
			wg.Go(func() {
				defer func() { <-slots }()
				latency, err := o(ctx, worker)
				if err != nil {
					cancel(err)
					return
				}
				mu.Lock()
				latencies = append(latencies, latency)
				mu.Unlock()
			})
		default:
		}
		select {
		case <-ctx.Done():
			break loop
		case <-deadline:
			break loop
		case <-tick.C:
		}
	}
	wg.Wait()
	elapsed := time.Since(began)
	if err := context.Cause(ctx); err != nil {
		return sample{}, err
	}
	return sample{ops: len(latencies), elapsed: elapsed, latencies: latencies}, nil
}

// contender is one side of a comparison: a figure or the ceiling it is
// judged by.
type contender struct {
	name string
	run  func(ctx context.Context, b bound) (sample, error)
}

// compare measures contenders in turns: every round gives each one a slice
// of time, one after the other, so that what else runs on the machine
// weighs on all of them alike. A warm-up slice, not counted, comes first.
func compare(ctx context.Context, cfg Config, contenders ...contender) ([]sample, error) {
	out := make([]sample, len(contenders))
	warm := bound{duration: cfg.Warmup, maxOps: cfg.MaxOps}
	for _, c := range contenders {
		if _, err := c.run(ctx, warm); err != nil {
			return nil, fmt.Errorf("%s: warm-up: %w", c.name, err)
		}
	}
	slice := bound{duration: cfg.Duration, maxOps: cfg.MaxOps}
	for range cfg.Rounds {
		for i, c := range contenders {
			s, err := c.run(ctx, slice)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			out[i].add(s)
		}
	}
	return out, nil
}

// workers is a contender running o in a closed loop with n workers.
func workers(name string, n int, o op) contender {
	return contender{name: name, run: func(ctx context.Context, b bound) (sample, error) {
		return closedLoop(ctx, n, b, o)
	}}
}
