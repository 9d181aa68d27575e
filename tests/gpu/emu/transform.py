# transform.py IN.cu OUT.cc — rewrite CUDA launches "k<<<grid, block, shm, stream>>> (args)"
# as emu_launch (dim3 (grid), dim3 (block), [=] () { k (args); }) for the CPU emulation (emu.h).
import re, sys
src = open(sys.argv[1]).read()
out = []
i = 0
while True:
    j = src.find('<<<', i)
    if j < 0:
        out.append(src[i:]); break
    # kernel expression: back from j to previous whitespace/newline/';' '{' '('
    k = j
    depth = 0
    while k > 0:
        c = src[k-1]
        if c == '>': depth += 1
        elif c == '<': depth -= 1
        elif depth == 0 and (c.isspace() or c in ';{}('): break
        k -= 1
    kern = src[k:j]
    e = src.find('>>>', j)
    cfg = src[j+3:e]
    # split cfg top-level commas
    parts, d, cur = [], 0, ''
    for ch in cfg:
        if ch in '([': d += 1
        if ch in ')]': d -= 1
        if ch == ',' and d == 0: parts.append(cur); cur = ''
        else: cur += ch
    parts.append(cur)
    p = src.find('(', e)
    d = 0; q = p
    while True:
        if src[q] == '(': d += 1
        elif src[q] == ')':
            d -= 1
            if d == 0: break
        q += 1
    args = src[p+1:q]
    out.append(src[i:k])
    out.append('emu_launch (dim3 (%s), dim3 (%s), [=] () { %s (%s); })' % (parts[0], parts[1], kern, args))
    i = q + 1
open(sys.argv[2], 'w').write(''.join(out))
