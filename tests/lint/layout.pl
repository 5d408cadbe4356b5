#!/usr/bin/perl
# The layout rules of DESIGN §2 that a compiler does not check, for `make lint`:
#  1. a service crate depends on kit, aftersales-proto and libs/* only: another service
#     only as a dev-dependency (at run time each is its own binary);
#  2. nothing imports a service's `api` module but `lib.rs` (api is the outermost door);
#  3. no import cycle between a service's (or a library's) top-level modules;
#  4. no source file over 500 lines outside tests and generated code.
# Prints every breach and exits 1 if there was one. Run from the repository root.
use strict;
use warnings;
use File::Find;

my @breaches;
my %services = map { m{services/([^/]+)/Cargo\.toml$} ? ($1 => 1) : () } glob 'services/*/Cargo.toml';

# 1. Run-time dependencies on other services.
for my $svc (sort keys %services) {
    open my $fh, '<', "services/$svc/Cargo.toml" or die "services/$svc/Cargo.toml: $!";
    my ($section, $table_dep) = ('', '');
    while (my $line = <$fh>) {
        if ($line =~ /^\s*\[([^\]]+)\]/) {
            $section = $1;
            # `[dependencies.sla]`: a dependency written as a table of its own
            $table_dep = $section =~ s/^((?:target\..*\.)?dependencies)\.([A-Za-z0-9_-]+)$/$1/ ? $2 : '';
            next;
        }
        next unless $section =~ /^(dependencies|target\..*\.dependencies)$/;
        my ($dep, $path);
        if ($table_dep) {
            $dep = $table_dep;
            $path = $line =~ /^\s*path\s*=\s*"([^"]+)"/ ? $1 : '';
        } elsif ($line =~ /^\s*([A-Za-z0-9_-]+)(?:\.[A-Za-z0-9_-]+)?\s*=/) {
            # `sla = { path = "../sla" }`, `sla.workspace = true`, `sla.path = "../sla"`
            $dep = $1;
            $path = $line =~ /path\s*=\s*"([^"]+)"/ ? $1 : '';
        } else {
            next;
        }
        if ($services{$dep} || $path =~ m{(^|/)services/} || $path =~ m{^\.\./[^./]}) {
            push @breaches, "services/$svc/Cargo.toml: [$section] depends on `$dep` (another service; allowed only under [dev-dependencies])";
        }
    }
}

# The top-level module a source file belongs to: src/api/create.rs -> api, src/lib.rs -> lib.
sub module_of {
    my ($rel) = @_;    # path below src/
    return 'lib' if $rel eq 'lib.rs' || $rel eq 'main.rs';
    my ($first) = split m{/}, $rel;
    $first =~ s/\.rs$//;
    return $first;
}

# Every top-level module a file's text names through `crate::`.
sub imports_of {
    my ($text) = @_;
    $text =~ s{//[^\n]*}{}g;    # comments (doc examples name paths too)
    my %seen;
    while ($text =~ /\bcrate::(\{)?/g) {
        if ($1) {
            # `crate::{a, b::{c, d}, e}`: the first segment of each item at depth 1
            my $pos = pos($text);
            my ($depth, $item, $i) = (1, '', $pos);
            for (; $i < length $text && $depth > 0; $i++) {
                my $c = substr $text, $i, 1;
                if ($c eq '{') { $depth++; }
                elsif ($c eq '}') { $depth--; }
                if ($depth == 1 && $c eq ',') { $seen{$1} = 1 if $item =~ /^\s*(\w+)/; $item = ''; next; }
                $item .= $c if $depth >= 1 && $c ne '{' || $depth > 1;
            }
            $seen{$1} = 1 if $item =~ /^\s*(\w+)/;
        } elsif ($text =~ /\G(\w+)/) {
            $seen{$1} = 1;
        }
    }
    return keys %seen;
}

my @crates = ((map { "services/$_" } sort keys %services), grep { -d "$_/src" } glob 'libs/*');
for my $crate (@crates) {
    my %edges;    # module -> { module it imports }
    find({ no_chdir => 1, wanted => sub {
        return unless /\.rs$/ && -f $_;
        my $file = $File::Find::name;
        (my $rel = $file) =~ s{^\Q$crate\E/src/}{};
        open my $fh, '<', $file or die "$file: $!";
        my $text = do { local $/; <$fh> };
        # 4. File length (unit tests in a file of their own, `tests.rs`, are tests).
        my $lines = () = $text =~ /\n/g;
        if ($lines > 500 && $rel !~ m{(^|/)tests\.rs$}) {
            push @breaches, "$file: $lines lines (at most 500 outside tests)";
        }
        my $from = module_of($rel);
        for my $to (imports_of($text)) {
            next if $to eq $from;
            $edges{$from}{$to} = 1;
            # 2. Only the composition root may reach for the api.
            if ($crate =~ m{^services/} && $to eq 'api' && $from ne 'lib') {
                push @breaches, "$file: imports crate::api (only lib.rs may; move what it needs out of api)";
            }
        }
    } }, "$crate/src");
    # 3. Cycles between top-level modules (lib, the root, imports everything by design).
    delete $edges{lib};
    my (%state, @stack);
    my $visit;
    $visit = sub {
        my ($m) = @_;
        $state{$m} = 1;
        push @stack, $m;
        for my $n (sort keys %{ $edges{$m} || {} }) {
            if (($state{$n} // 0) == 1) {
                my @cycle = (@stack[(grep { $stack[$_] eq $n } 0 .. $#stack)[0] .. $#stack], $n);
                push @breaches, "$crate: import cycle " . join(' -> ', @cycle);
            } elsif (!$state{$n}) {
                $visit->($n);
            }
        }
        pop @stack;
        $state{$m} = 2;
    };
    for my $m (sort keys %edges) { $visit->($m) unless $state{$m}; }
}

if (@breaches) {
    print STDERR "layout: $_\n" for @breaches;
    printf STDERR "layout: %d breach(es) of DESIGN §2\n", scalar @breaches;
    exit 1;
}
print "layout: ok (" . scalar(@crates) . " crates: no run-time service dependencies, no import of api, no module cycles, no file over 500 lines)\n";
