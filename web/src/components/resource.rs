//! The console's resources: leptos's `LocalResource`, compiled once (SPEC S16: the weight).
//!
//! A `LocalResource<T>` compiles leptos's async machinery (its derived future, its poll,
//! its effects) once per value type `T`: 21 resources cost about 60 KB of WASM. [`Res<T>`]
//! keeps one `LocalResource` of a type-erased value underneath and casts back to `T` where a
//! page reads it, so that machinery exists once; the cast cannot fail, since only
//! [`resource`] fills it, with a `T`.

use std::any::Any;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;

use leptos::prelude::*;

/// A resource's value with its type erased.
#[derive(Clone)]
struct Erased(Rc<dyn Any>);

type Fetch = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Erased>>>>;

/// A resource of `T` (see the module's comment). `Copy`, like `LocalResource`.
pub struct Res<T> {
    inner: LocalResource<Erased>,
    ty: PhantomData<fn() -> T>,
}

impl<T> Clone for Res<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Res<T> {}

impl<T> std::fmt::Debug for Res<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Res").finish_non_exhaustive()
    }
}

/// A resource that runs `fetch` now and again whenever a signal it read changes
/// (`LocalResource::new`).
pub fn resource<T: Clone + 'static, Fut: Future<Output = T> + 'static>(
    fetch: impl Fn() -> Fut + 'static,
) -> Res<T> {
    Res {
        inner: erased(Box::new(move || {
            let fut = fetch();
            Box::pin(async move { Erased(Rc::new(fut.await)) })
        })),
        ty: PhantomData,
    }
}

/// The one `LocalResource` type of the console.
fn erased(fetch: Fetch) -> LocalResource<Erased> {
    LocalResource::new(fetch)
}

impl<T: Clone + 'static> Res<T> {
    fn cast(value: &Erased) -> &T {
        value
            .0
            .downcast_ref::<T>()
            .expect("a resource holds the type it was made with")
    }

    /// Fetches again.
    pub fn refetch(&self) {
        self.inner.refetch();
    }

    /// Subscribes the running effect to the resource.
    pub fn track(&self) {
        self.inner.track();
    }

    /// The value, once loaded (tracked).
    pub fn get(&self) -> Option<T> {
        self.inner
            .with(|v| v.as_ref().map(|v| Self::cast(v).clone()))
    }

    /// Reads the value, once loaded, without cloning it (tracked).
    pub fn with<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        self.inner.with(|v| f(v.as_ref().map(Self::cast)))
    }
}

impl<T: Clone + 'static> IntoFuture for Res<T> {
    type Output = T;
    type IntoFuture = Pin<Box<dyn Future<Output = T> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let inner = self.inner;
        Box::pin(async move { Self::cast(&inner.await).clone() })
    }
}
