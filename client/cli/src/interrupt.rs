//! Ctrl-C, Ctrl-\, SIGTERM, SIGHUP and every other signal that would end the process
//! and that a handler may catch (a file-size or CPU limit reached, an alarm, SIGUSR1/2),
//! while a file is being written: the partial output is deleted before the process
//! exits. A signal runs no destructors, so the handler only
//! wakes a thread (write(2) to a socket is all a handler may safely do), and that
//! thread removes the pending outputs and ends the process (`_exit`) with 128 + the
//! signal number. The signals no handler may take leave no core file either
//! ([`no_core_dumps`]).

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// The signals whose default action ends the process, less those no handler may
/// take (SIGKILL, SIGSTOP; SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT report a fault
/// of the process itself) and SIGPIPE, which Rust ignores (a closed pipe is an error
/// from `write`). SIGQUIT and the limits would otherwise also dump core: a file of the
/// process's memory, plaintext included.
const SIGNALS: [(libc::c_int, &str); 10] = [
    (libc::SIGINT, "SIGINT"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGQUIT, "SIGQUIT"),
    (libc::SIGXFSZ, "SIGXFSZ"),
    (libc::SIGXCPU, "SIGXCPU"),
    (libc::SIGALRM, "SIGALRM"),
    (libc::SIGVTALRM, "SIGVTALRM"),
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGUSR2, "SIGUSR2"),
];

/// From now on, the [`SIGNALS`] remove this process's partial outputs and end it.
pub fn remove_partial_output_on_signals() -> Result<(), String> {
    let (mut woken, waker) =
        UnixStream::pair().map_err(|e| format!("cannot prepare for signals: {e}"))?;
    let waker_fd = waker.as_raw_fd();
    for (signal, name) in SIGNALS {
        let byte = signal as u8;
        let wake = move || {
            // SAFETY: write(2) is async-signal-safe; the socket lives until the process
            // ends (it is leaked below).
            unsafe { libc::write(waker_fd, (&byte as *const u8).cast(), 1) };
        };
        // SAFETY: the action does nothing but the write above.
        unsafe { signal_hook_registry::register(signal, wake) }
            .map_err(|e| format!("cannot handle {name}: {e}"))?;
    }
    std::mem::forget(waker);
    std::thread::spawn(move || {
        let mut byte = [0u8];
        if woken.read_exact(&mut byte).is_ok() {
            let signal = libc::c_int::from(byte[0]);
            // Held until the process ends: the main thread cannot report or exit first.
            let removed = medledger_sealing::remove_pending_outputs();
            let name = SIGNALS
                .iter()
                .find_map(|(number, name)| (*number == signal).then_some(*name))
                .unwrap_or("a signal");
            eprintln!(
                "\nerror: interrupted by {name}; {} partial output file(s) removed",
                removed.count
            );
            // _exit, not exit: exit would run the C libraries' static destructors (the
            // PKCS#11 module's among them) while the main thread may be inside the token, and
            // the process could then die of a signal instead of reporting this one. Nothing
            // is left to flush: stderr is unbuffered and the partial outputs are gone.
            // SAFETY: _exit(2) ends the process at once; it touches no Rust state.
            unsafe { libc::_exit(128 + signal) }
        }
    });
    Ok(())
}

/// A crash (SIGSEGV, SIGABRT, …), which no handler may catch, must not write a core
/// file either: it would hold the PIN, ECDH results and plaintext from memory. A core
/// size limit of 0 stops the kernel's core files and tells the dump collectors that
/// read it (systemd-coredump, apport) to keep nothing.
pub fn no_core_dumps() -> Result<(), String> {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit(2) reads the struct it is given, which lives across the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } != 0 {
        return Err(format!(
            "cannot turn core dumps off: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
