/* A copy of RtMidi's JACK output (its process callback and ringbuffer, RtMidi.cpp
 * jackProcessOut / MidiOutJack::sendMessage) that logs every run of its process callback:
 * the cycle it saw (last_frame_time), frames since that cycle began, events it wrote and the
 * burst number of the first. Used by bench/rtmidi_jack_bursts.py --writer c.
 *
 *   cc -O2 -o jack_writer_probe jack_writer_probe.c -ljack
 *   jack_writer_probe BURSTS GAP_S LOG   (prints "ready", sends after a line on stdin)
 */
#include <jack/jack.h>
#include <jack/midiport.h>
#include <jack/ringbuffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 4000000
typedef struct { jack_nframes_t cycle, since; int events, first; } Run;
static jack_port_t *port;
static jack_ringbuffer_t *rb;
static jack_client_t *client;
static Run runs[MAX_RUNS];
static volatile int nruns = 0;

static int process(jack_nframes_t nframes, void *arg) {
  (void)arg;
  void *buf = jack_port_get_buffer(port, nframes);
  jack_midi_clear_buffer(buf);
  Run *r = &runs[nruns < MAX_RUNS - 1 ? nruns : MAX_RUNS - 1];
  r->cycle = jack_last_frame_time(client);
  r->since = jack_frames_since_cycle_start(client);
  r->events = 0;
  r->first = -1;
  int size;
  while (jack_ringbuffer_peek(rb, (char *)&size, sizeof size) == sizeof size &&
         jack_ringbuffer_read_space(rb) >= sizeof size + size) {
    jack_ringbuffer_read_advance(rb, sizeof size);
    jack_midi_data_t *d = jack_midi_event_reserve(buf, 0, size);
    if (!d) { jack_ringbuffer_read_advance(rb, size); continue; }
    jack_ringbuffer_read(rb, (char *)d, size);
    if (r->first < 0) r->first = (d[2] - 1) * 128 + d[1];
    r->events++;
  }
  nruns++;
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  int bursts = atoi(argv[1]);
  double gap = atof(argv[2]);
  client = jack_client_open("bursts", JackNoStartServer, NULL);
  if (!client) return 1;
  rb = jack_ringbuffer_create(16384);
  port = jack_port_register(client, "bursts", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
  jack_set_process_callback(client, process, NULL);
  if (jack_activate(client)) return 1;
  printf("ready\n");
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof line, stdin)) return 1;
  for (int i = 0; i < bursts; i++) {
    for (int k = 0; k < 3; k++) {
      unsigned char m[3] = {0x90 | k, i % 128, 1 + i / 128};
      int size = 3;
      jack_ringbuffer_write(rb, (char *)&size, sizeof size);
      jack_ringbuffer_write(rb, (char *)m, 3);
    }
    struct timespec ts = {0, (long)(gap * 1e9)};
    nanosleep(&ts, NULL);
  }
  usleep(200000);
  jack_deactivate(client);
  FILE *f = fopen(argv[3], "w");
  for (int i = 0; i < nruns && i < MAX_RUNS; i++)
    fprintf(f, "%u %u %d %d\n", runs[i].cycle, runs[i].since, runs[i].events, runs[i].first);
  fclose(f);
  jack_client_close(client);
  printf("done\n");
  fflush(stdout);
  return 0;
}
