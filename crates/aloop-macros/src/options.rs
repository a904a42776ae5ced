//! The options inside the attribute's parentheses: `debug`, `virtual_time` (tests
//! only) and `crate = "path"`. `expand.rs` beside it checks the function and writes
//! the expansion; `lib.rs` holds the two entry points.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;

/// Which attribute is being expanded: the messages name it, and some options are
/// for one of them only.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    /// The attribute as the user writes it, in backticks, for error messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "`#[aloop::main]`",
            Kind::Test => "`#[aloop::test]`",
        }
    }

    fn option_list(self) -> &'static str {
        match self {
            Kind::Main => "`debug` and `crate = \"...\"`",
            Kind::Test => "`debug`, `virtual_time` and `crate = \"...\"`",
        }
    }
}

/// What the attribute asked for.
pub(crate) struct Options {
    /// `set_debug(true)` on the loop.
    pub(crate) debug: bool,
    /// `use_virtual_time()` on the loop.
    pub(crate) virtual_time: bool,
    /// Where the facade is: `::aloop` unless `crate = "..."` says otherwise (a crate
    /// that re-exports aloop under another name).
    pub(crate) crate_path: syn::Path,
}

/// Parses the attribute's arguments; the error points at the option at fault.
pub(crate) fn parse(kind: Kind, args: TokenStream) -> syn::Result<Options> {
    let mut debug = None;
    let mut virtual_time = None;
    let mut crate_path = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("debug") {
            set_once(&meta, &mut debug, flag(&meta)?)
        } else if meta.path.is_ident("virtual_time") {
            if kind == Kind::Main {
                return Err(meta.error(
                    "`virtual_time` is for `#[aloop::test]`: with real I/O in flight, a timeout on \
                     virtual time fires as soon as the loop is idle; a program that wants it \
                     anyway calls `aloop::Runner::builder().virtual_time(true).run(..)`",
                ));
            }
            set_once(&meta, &mut virtual_time, flag(&meta)?)
        } else if meta.path.is_ident("crate") {
            let path = crate_option(&meta)?;
            set_once(&meta, &mut crate_path, path)
        } else {
            Err(meta.error(format!(
                "unknown option `{}`: {} takes {}",
                path_text(&meta.path),
                kind.attribute(),
                kind.option_list()
            )))
        }
    });
    parser.parse2(args)?;
    Ok(Options {
        debug: debug.unwrap_or(false),
        virtual_time: virtual_time.unwrap_or(false),
        crate_path: crate_path.unwrap_or_else(|| syn::parse_quote!(::aloop)),
    })
}

/// `name` alone (on) or `name = true` / `name = false`.
fn flag(meta: &ParseNestedMeta) -> syn::Result<bool> {
    let name = path_text(&meta.path);
    if meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!("write `{name}` or `{name} = true`")));
    }
    if !meta.input.peek(syn::Token![=]) {
        return Ok(true);
    }
    let wrong = |span| syn::Error::new(span, format!("`{name}` is `true` or `false`"));
    match meta.value()?.parse::<syn::Lit>() {
        Ok(syn::Lit::Bool(value)) => Ok(value.value),
        Ok(other) => Err(wrong(other.span())),
        Err(e) => Err(wrong(e.span())),
    }
}

/// `crate = "path::to::aloop"`.
fn crate_option(meta: &ParseNestedMeta) -> syn::Result<syn::Path> {
    const USAGE: &str = "write `crate = \"path::to::aloop\"` (a path in a string)";
    if !meta.input.peek(syn::Token![=]) {
        return Err(meta.error(USAGE));
    }
    match meta.value()?.parse::<syn::Lit>() {
        Ok(syn::Lit::Str(text)) => text.parse::<syn::Path>().map_err(|_| {
            let message = format!("`{}` is not a path: {USAGE}", text.value());
            syn::Error::new(text.span(), message)
        }),
        Ok(other) => Err(syn::Error::new(other.span(), USAGE)),
        Err(e) => Err(syn::Error::new(e.span(), USAGE)),
    }
}

fn set_once<T>(meta: &ParseNestedMeta, slot: &mut Option<T>, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error(format!("`{}` is given twice", path_text(&meta.path))));
    }
    *slot = Some(value);
    Ok(())
}

fn path_text(path: &syn::Path) -> String {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    names.join("::")
}
