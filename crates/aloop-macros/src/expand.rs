//! The expansion of both attributes: check the `async fn`, then write a plain `fn` of
//! the same name, attributes and return type whose body runs the original one on a new
//! aloop loop. `options.rs` beside it parses the attribute's options.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::ItemFn;

use crate::options::{self, Kind, Options};

/// The whole expansion: the new function, or compile errors (with a stand-in for the
/// function, so the errors are the macro's alone).
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                format!(
                    "{} goes on an `async fn`, not on this item",
                    kind.attribute()
                ),
            );
            // The item stays as written: its own errors, if any, are not ours to hide.
            let mut out = error.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let options = options::parse(kind, args);
    let checked = check_function(kind, &function);
    match (options, checked) {
        (Ok(options), Ok(())) => write_function(kind, &options, function),
        (options, checked) => {
            let mut out = TokenStream::new();
            for error in [options.err(), checked.err()].into_iter().flatten() {
                out.extend(error.to_compile_error());
            }
            out.extend(stand_in(&function));
            out
        }
    }
}

/// Every misuse of the function itself, each at its own span.
fn check_function(kind: Kind, function: &ItemFn) -> syn::Result<()> {
    let attribute = kind.attribute();
    let sig = &function.sig;
    let mut errors: Vec<syn::Error> = Vec::new();
    if let Err(e) = function.modifiers.require_empty() {
        errors.push(e);
    }
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            sig.fn_token.span(),
            format!("{attribute} goes on an `async fn`: add `async` before `fn`"),
        ));
    }
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(
            constness.span(),
            format!("{attribute} does not take a `const fn`"),
        ));
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        errors.push(syn::Error::new(
            unsafety.span(),
            format!("{attribute} does not take an `unsafe fn`"),
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            format!("{attribute} does not take an `extern` fn"),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let who = match kind {
            Kind::Main => "the program's start",
            Kind::Test => "the test harness",
        };
        let mut spanned = sig.generics.to_token_stream();
        sig.generics.where_clause.to_tokens(&mut spanned);
        errors.push(syn::Error::new_spanned(
            spanned,
            format!("{attribute} functions cannot be generic: {who} calls them with no type given"),
        ));
    }
    if !sig.inputs.is_empty() || sig.variadic.is_some() {
        let hint = match kind {
            Kind::Main => "read the command line with `std::env::args()`",
            Kind::Test => "the test harness calls them with none",
        };
        let mut spanned = sig.inputs.to_token_stream();
        sig.variadic.to_tokens(&mut spanned);
        errors.push(syn::Error::new_spanned(
            spanned,
            format!("{attribute} functions take no arguments: {hint}"),
        ));
    }
    if kind == Kind::Test {
        // Another test attribute after ours (`#[test]`, `#[tokio::test]`, ...) would
        // make a second test of the same function, or refuse the `async fn`.
        for attr in &function.attrs {
            let is_test = attr
                .path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "test");
            if is_test {
                errors.push(syn::Error::new_spanned(
                    attr,
                    "a second test attribute: `#[aloop::test]` already makes this function a \
                     `#[test]`; remove this one",
                ));
            }
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            first.extend(errors);
            Err(first)
        }
    }
}

/// `fn name() -> T { <new loop set up as asked>.run(<the original async fn>()) }`.
///
/// The body moves into an inner `async fn` with the original return type, rather than
/// an `async` block: the declared type is what `?` converts errors into and what
/// `return` returns, as in the function the user wrote.
fn write_function(kind: Kind, options: &Options, function: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
        ..
    } = function;
    let name = &sig.ident;
    let output = &sig.output;
    let krate = &options.crate_path;
    let mut runner = quote! { #krate::Runner::builder() };
    if options.debug {
        runner.extend(quote! { .debug(true) });
    }
    if options.virtual_time {
        runner.extend(quote! { .virtual_time(true) });
    }
    let test_attribute = match kind {
        // The prelude's path: a `test` the user imported (even aloop's) cannot stand in.
        Kind::Test => quote! { #[::core::prelude::v1::test] },
        Kind::Main => TokenStream::new(),
    };
    quote! {
        #test_attribute
        #(#attrs)*
        #vis fn #name() #output {
            async fn __aloop_body() #output #block
            #runner.run(__aloop_body())
        }
    }
}

/// What stands in for the function when the macro reports errors: same name and
/// visibility, no arguments, and (unless generic, whose types would not resolve) the
/// same return type, so the rest of the crate (a `main` to be found, callers) adds no
/// errors of its own.
fn stand_in(function: &ItemFn) -> TokenStream {
    let vis = &function.vis;
    let name = &function.sig.ident;
    let output = if function.sig.generics.params.is_empty() {
        function.sig.output.to_token_stream()
    } else {
        TokenStream::new()
    };
    quote! {
        #[allow(dead_code)]
        #vis fn #name() #output {
            ::core::unreachable!()
        }
    }
}
