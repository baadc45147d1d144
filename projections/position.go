package projections

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/eventstore"
)

// projection is a registered projector and where it stands in this process.
type projection struct {
	Projector
	// target is the read-model schema the projector writes ("" when it
	// qualifies its tables itself).
	target string

	mu sync.Mutex
	// rebuilding is set while Run rebuilds the projector's schema for a new
	// version before running it.
	rebuilding bool
	// loaded is set once Run has read the stored checkpoint into pos.
	loaded bool
	// pos is the last event processed (applied or skipped).
	pos eventstore.Position
	// persisted is the checkpoint known to be stored; skipped events move
	// pos ahead of it until the next flush.
	persisted eventstore.Position
	// streamedUntil is the last event a stream-ordered run applied, as
	// stored when Run started; a log-ordered run checks the stream versions
	// up to it.
	streamedUntil eventstore.Position
	// changed is closed and replaced whenever pos moves, waking waiters.
	changed chan struct{}
	// failure is the last apply error, cleared by the next success;
	// failing is the event it is about and attempts how often in a row it
	// failed.
	failure  error
	failing  uuid.UUID
	attempts int
}

func newProjection(p Projector) *projection {
	return &projection{Projector: p, changed: make(chan struct{})}
}

// positions is a snapshot of a projection's progress.
type positions struct {
	loaded        bool
	rebuilding    bool
	pos           eventstore.Position
	persisted     eventstore.Position
	streamedUntil eventstore.Position
	failure       error
}

func (p *projection) snapshot() positions {
	p.mu.Lock()
	defer p.mu.Unlock()
	return positions{loaded: p.loaded, rebuilding: p.rebuilding, pos: p.pos, persisted: p.persisted,
		streamedUntil: p.streamedUntil, failure: p.failure}
}

// start sets the position read from the stored checkpoint, and where the
// stream versions of a stream-ordered run end.
func (p *projection) start(stored, streamedUntil eventstore.Position) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loaded, p.pos, p.persisted, p.streamedUntil = true, stored, stored, streamedUntil
	p.rebuilding = false
	p.clearFailureLocked()
	p.notifyLocked()
}

// advance records that the event at pos was processed; stored tells whether
// the checkpoint in the database already says so.
func (p *projection) advance(pos eventstore.Position, stored bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pos.Less(pos) {
		p.pos = pos
	}
	if stored && p.persisted.Less(pos) {
		p.persisted = pos
	}
	p.clearFailureLocked()
	p.notifyLocked()
}

// watermark records that the stored checkpoint of a stream-fed projector
// moved to pos; unlike advance, it says nothing of the last event's fate.
func (p *projection) watermark(pos eventstore.Position) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pos.Less(pos) {
		p.pos = pos
		p.notifyLocked()
	}
	if p.persisted.Less(pos) {
		p.persisted = pos
	}
}

// recovered clears the failure once an event went through.
func (p *projection) recovered() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearFailureLocked()
}

func (p *projection) clearFailureLocked() {
	p.failure, p.failing, p.attempts = nil, uuid.Nil, 0
}

// setRebuilding marks the projection as waiting for its schema's rebuild.
func (p *projection) setRebuilding() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rebuilding = true
}

// stored records that a flush wrote the checkpoint at pos.
func (p *projection) stored(pos eventstore.Position) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.persisted.Less(pos) {
		p.persisted = pos
	}
}

// fail records a failed attempt at an event (uuid.Nil when the message
// could not even be decoded) and returns how many attempts in a row failed
// on it.
func (p *projection) fail(event uuid.UUID, err error) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failing != event {
		p.failing, p.attempts = event, 0
	}
	p.failure = err
	p.attempts++
	return p.attempts
}

func (p *projection) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// waitFor blocks until the projection has processed target or ctx ends.
func (p *projection) waitFor(ctx context.Context, target eventstore.Position) error {
	for {
		p.mu.Lock()
		reached := p.loaded && !p.pos.Less(target)
		changed := p.changed
		p.mu.Unlock()
		if reached {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
