//! The points in a container's life where `lxc.hook.<type>` commands run.

use super::FamilyName;

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookType {
    PreStart,
    StartHost,
    PreMount,
    Mount,
    Autodev,
    Start,
    Stop,
    PostStop,
    Clone,
    Destroy,
}

impl HookType {
    /// In the order they run.
    pub(crate) const ALL: &'static [HookType] = &[
        HookType::PreStart,
        HookType::StartHost,
        HookType::PreMount,
        HookType::Mount,
        HookType::Autodev,
        HookType::Start,
        HookType::Stop,
        HookType::PostStop,
        HookType::Clone,
        HookType::Destroy,
    ];

    /// The suffix after `lxc.hook.` (also the third argument of a version-0 hook).
    pub fn name(self) -> &'static str {
        self.def().0
    }

    /// When the hook runs, for the manual.
    pub(crate) fn doc(self) -> &'static str {
        self.def().1
    }

    fn def(self) -> (&'static str, &'static str) {
        match self {
            HookType::PreStart => (
                "pre-start",
                "On the host, before the container's namespaces and mounts are set up.",
            ),
            HookType::StartHost => (
                "start-host",
                "On the host, once the container's namespaces exist and before its init runs.",
            ),
            HookType::PreMount => (
                "pre-mount",
                "In the container's mount namespace, before its root file system is mounted.",
            ),
            HookType::Mount => (
                "mount",
                "In the container's mount namespace, after its mounts and before it changes root.",
            ),
            HookType::Autodev => (
                "autodev",
                "Like `mount`, after `lxc.autodev` filled /dev, to add device nodes.",
            ),
            HookType::Start => (
                "start",
                "In the container, just before its init program runs.",
            ),
            HookType::Stop => (
                "stop",
                "On the host when the container stops, with references to its namespaces.",
            ),
            HookType::PostStop => ("post-stop", "On the host after the container stopped."),
            HookType::Clone => (
                "clone",
                "When `lxc-copy` copies the container, for the new copy.",
            ),
            HookType::Destroy => ("destroy", "When the container is destroyed."),
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<HookType> {
        HookType::ALL.iter().copied().find(|h| h.name() == name)
    }
}

impl FamilyName for HookType {
    fn as_name(&self) -> &str {
        self.name()
    }
    fn from_name(name: &str) -> HookType {
        HookType::from_name(name).expect("hook names are checked when the key is classified")
    }
}
