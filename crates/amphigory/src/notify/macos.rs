//! macOS: the user-notification API (`UNUserNotificationCenter`, objc2 bindings) when the
//! daemon runs from `Amphigory.app`, so notifications carry the app's name and icon and
//! obey its settings; `osascript` otherwise (a bare binary has no bundle, and
//! `UNUserNotificationCenter` raises an Objective-C exception without one). All FFI of
//! notifications is in this file.

use std::sync::{Arc, Mutex, PoisonError};

use block2::RcBlock;
use objc2::runtime::Bool;
use objc2_foundation::{NSBundle, NSError, NSString};
use objc2_user_notifications::{
    UNAuthorizationOptions, UNMutableNotificationContent, UNNotificationRequest,
    UNUserNotificationCenter,
};
use tokio::sync::oneshot;

use super::{Notification, Notifier, NotifyError, osascript};

/// The macOS backend, chosen once at start-up.
#[derive(Debug)]
pub struct MacNotifier {
    bundled: bool,
    authorization_asked: bool,
    sent: u64,
}

impl MacNotifier {
    /// The user-notification API inside an app bundle, `osascript` outside one.
    pub fn detect() -> Self {
        let exe_in_bundle = std::env::current_exe()
            .ok()
            .is_some_and(|exe| is_bundled_executable(&exe));
        // Both, to be sure: the exception of a bundle-less process would abort us.
        let bundled = exe_in_bundle && NSBundle::mainBundle().bundleIdentifier().is_some();
        tracing::debug!(
            "notifications via {}",
            if bundled {
                "UNUserNotificationCenter"
            } else {
                "osascript"
            }
        );
        Self {
            bundled,
            authorization_asked: false,
            sent: 0,
        }
    }

    /// Asks once for permission to show alerts; macOS remembers the answer.
    fn ask_authorization(&mut self) {
        if std::mem::replace(&mut self.authorization_asked, true) {
            return;
        }
        let center = UNUserNotificationCenter::currentNotificationCenter();
        let answer = RcBlock::new(|granted: Bool, error: *mut NSError| {
            if !granted.as_bool() {
                tracing::warn!(
                    "notifications not allowed for Amphigory ({}): see System Settings › \
                     Notifications",
                    describe(error)
                );
            }
        });
        center.requestAuthorizationWithOptions_completionHandler(
            UNAuthorizationOptions::Alert | UNAuthorizationOptions::Sound,
            &answer,
        );
    }

    /// Hands `note` to the notification center; the receiver gets its verdict.
    fn post(&mut self, note: &Notification) -> oneshot::Receiver<Result<(), NotifyError>> {
        self.ask_authorization();
        self.sent = self.sent.wrapping_add(1);
        let content = UNMutableNotificationContent::new();
        content.setTitle(&NSString::from_str(&note.summary));
        content.setBody(&NSString::from_str(&note.body));
        let id = NSString::from_str(&format!("amphigory-{}-{}", std::process::id(), self.sent));
        let request =
            UNNotificationRequest::requestWithIdentifier_content_trigger(&id, &content, None);
        let (tx, rx) = oneshot::channel();
        // The block is `Fn` and may be called on any thread: the sender sits in a mutex.
        let tx = Arc::new(Mutex::new(Some(tx)));
        let done = RcBlock::new(move |error: *mut NSError| {
            let verdict = if error.is_null() {
                Ok(())
            } else {
                Err(NotifyError::Failed(describe(error)))
            };
            let sender = tx.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(sender) = sender {
                let _ = sender.send(verdict);
            }
        });
        UNUserNotificationCenter::currentNotificationCenter()
            .addNotificationRequest_withCompletionHandler(&request, Some(&done));
        rx
    }
}

impl Notifier for MacNotifier {
    async fn notify(&mut self, note: &Notification) -> Result<(), NotifyError> {
        if !self.bundled {
            return osascript::show(note).await;
        }
        // Every Objective-C object lives and dies inside `post`, before the await.
        let verdict = self.post(note);
        match verdict.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(NotifyError::Failed(
                "the notification center never answered".into(),
            )),
        }
    }
}

/// Is `exe` the executable of an app bundle (`….app/Contents/MacOS/<name>`)?
pub fn is_bundled_executable(exe: &std::path::Path) -> bool {
    let mut parents = exe.ancestors().skip(1);
    let macos = parents.next().and_then(|p| p.file_name());
    let contents = parents.next().and_then(|p| p.file_name());
    let app = parents.next().and_then(|p| p.extension());
    macos.is_some_and(|n| n == "MacOS")
        && contents.is_some_and(|n| n == "Contents")
        && app.is_some_and(|e| e == "app")
}

/// An `NSError`'s description, or "no error".
fn describe(error: *mut NSError) -> String {
    // SAFETY: the frameworks pass either null or a valid NSError that lives for the call.
    match unsafe { error.as_ref() } {
        Some(error) => error.localizedDescription().to_string(),
        None => "no error".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn only_an_executable_inside_an_app_bundle_counts() {
        let bundled = Path::new("/Applications/Amphigory.app/Contents/MacOS/amphigory");
        assert!(is_bundled_executable(bundled));
        assert!(!is_bundled_executable(Path::new(
            "/usr/local/bin/amphigory"
        )));
        assert!(!is_bundled_executable(Path::new(
            "/x/Amphigory.app/Contents/Resources/amphigory"
        )));
    }
}
