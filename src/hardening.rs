//! Process settings that keep secrets in memory out of reach of other processes.

/// Marks the process non-dumpable on Linux: the kernel then writes no core dump of it, and other
/// processes of the same user can neither attach a debugger nor read its memory through
/// `/proc/<pid>/mem`. Does nothing on other systems.
///
/// Returns the operating system's error if the setting was refused.
pub fn forbid_core_dumps() -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::process::{set_dumpable_behavior, DumpableBehavior};
        set_dumpable_behavior(DumpableBehavior::NotDumpable)?;
    }
    Ok(())
}

/// Returns whether the process is marked non-dumpable; always false outside Linux.
pub fn is_non_dumpable() -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::process::{dumpable_behavior, DumpableBehavior};
        matches!(dumpable_behavior(), Ok(DumpableBehavior::NotDumpable))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        false
    }
}
