/*
 * Stopping the long-running commands (watch, demo) cleanly: SIGINT,
 * SIGTERM and SIGHUP set a flag and wake the sleep between intervals through a
 * self-pipe, so the command finishes its interval, flushes what it keeps
 * and exits, instead of dying mid-write.
 */
#include "cmd.h"

#include "util/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"

static int signal_pipe[2] = { -1, -1 };
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    int saved = errno;
    /* A second signal is not polite any more: the default action ends the process. */
    signal(sig, SIG_DFL);
    stop_signal = sig;
    if (signal_pipe[1] >= 0) {
        ssize_t n = write(signal_pipe[1], "x", 1);
        (void)n;
    }
    errno = saved;
}

int stop_signals_setup(void)
{
    if (pipe(signal_pipe) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(signal_pipe[i], F_SETFL, O_NONBLOCK);
        fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* a closed terminal: stop as cleanly */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int stop_signal_received(void)
{
    return stop_signal;
}

bool stop_sleep_until(int64_t deadline_mono_us)
{
    for (;;) {
        if (stop_signal)
            return false;
        int64_t left = deadline_mono_us - clock_mono_us();
        if (left <= 0)
            return true;
        struct pollfd pfd = { .fd = signal_pipe[0], .events = POLLIN };
        if (poll(&pfd, 1, (int)((left + 999) / 1000)) > 0) {
            char drain[16];
            while (read(signal_pipe[0], drain, sizeof(drain)) > 0)
                ;
        }
    }
}

const char *stop_signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM";
}
