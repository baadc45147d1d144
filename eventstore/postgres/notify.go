package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/eventstore"
)

// wakeup tells every waiting subscription of a store that the log may
// have grown, and knows the last event the store itself appended.
type wakeup struct {
	mu       sync.Mutex
	ch       chan struct{} // closed and replaced on every broadcast
	appended eventstore.Position
}

func newWakeup() *wakeup { return &wakeup{ch: make(chan struct{})} }

// changed returns a channel closed at the next broadcast.
func (w *wakeup) changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ch
}

func (w *wakeup) broadcast() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.broadcastLocked()
}

func (w *wakeup) broadcastLocked() {
	close(w.ch)
	w.ch = make(chan struct{})
}

// committed broadcasts that the store's own append committed up to pos.
func (w *wakeup) committed(pos eventstore.Position) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.appended.Less(pos) {
		w.appended = pos
	}
	w.broadcastLocked()
}

// lastAppended is the position of the last event the store appended and
// committed.
func (w *wakeup) lastAppended() eventstore.Position {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.appended
}

// listener holds the store's one LISTEN connection and wakes the store's
// subscriptions when an append commits anywhere on the database.
type listener struct {
	pool *pgxpool.Pool
	cfg  Config
	wake *wakeup
}

// run listens until ctx ends, connecting again after failures; meanwhile
// the subscriptions still progress by polling.
func (l *listener) run(ctx context.Context) {
	for {
		err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		l.cfg.Logger.Warn("event store listener failed; subscriptions poll until it is back",
			"error", err, "retry_in", l.cfg.ReconnectDelay)
		retry := time.NewTimer(l.cfg.ReconnectDelay)
		select {
		case <-ctx.Done():
			retry.Stop()
			return
		case <-retry.C:
		}
	}
}

func (l *listener) listen(ctx context.Context) error {
	pooled, err := l.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire listening connection: %w", err)
	}
	// The connection leaves the pool: it is busy for as long as it listens.
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Appends committed while nobody listened went unannounced.
	l.wake.broadcast()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		l.wake.broadcast()
	}
}

// notifier tells other stores on the database that appends committed. Runs
// of appends share one notification: while one is being sent, further
// appends only mark that another is due.
type notifier struct {
	pool *pgxpool.Pool
	cfg  Config
	due  chan struct{}
}

// poke asks for a notification without waiting for it.
func (n *notifier) poke() {
	select {
	case n.due <- struct{}{}:
	default:
	}
}

// run sends the notifications asked for until ctx ends. One that fails is
// not retried: listeners poll anyway.
func (n *notifier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.due:
		}
		if _, err := n.pool.Exec(ctx, "SELECT pg_notify($1, '')", notifyChannel); err != nil && ctx.Err() == nil {
			n.cfg.Logger.Warn("event store notification failed; listeners will poll", "error", err)
		}
	}
}
