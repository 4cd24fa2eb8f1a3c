//! The Windows side of [`super::private`]: a security descriptor whose protected DACL allows the
//! current user (the SID of the process token) full access and no one else anything, given to
//! `CreateFileW` / `CreateDirectoryW` so a file or directory is private from its first moment,
//! and a check that an existing file's DACL lets no other account in.

use std::ffi::c_void;
use std::fs::File;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{FromRawHandle, RawHandle};
use std::path::Path;
use std::ptr;
use std::sync::OnceLock;
use windows_sys::Win32::Foundation::{
    CloseHandle, LocalFree, ERROR_SUCCESS, GENERIC_READ, GENERIC_WRITE, HANDLE,
    INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Security::Authorization::{GetNamedSecurityInfoW, SE_FILE_OBJECT};
use windows_sys::Win32::Security::{
    AddAccessAllowedAceEx, EqualSid, GetAce, GetLengthSid, GetTokenInformation, InitializeAcl,
    InitializeSecurityDescriptor, SetSecurityDescriptorControl, SetSecurityDescriptorDacl,
    TokenUser, ACE_HEADER, ACL, ACL_REVISION, CONTAINER_INHERIT_ACE, DACL_SECURITY_INFORMATION,
    OBJECT_INHERIT_ACE, PSECURITY_DESCRIPTOR, PSID, SECURITY_ATTRIBUTES, SECURITY_DESCRIPTOR,
    SE_DACL_PROTECTED, TOKEN_QUERY, TOKEN_USER,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateDirectoryW, CreateFileW, CREATE_NEW, FILE_ALL_ACCESS, FILE_ATTRIBUTE_NORMAL,
    FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// `ACCESS_ALLOWED_ACE_TYPE` (in a feature of windows-sys crlogin otherwise does not need).
const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
/// S-1-5-18, LocalSystem: revision 1, one sub-authority, NT authority 5, sub-authority 18.
const LOCAL_SYSTEM: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];
/// `SECURITY_DESCRIPTOR_REVISION`.
const SECURITY_DESCRIPTOR_REVISION: u32 = 1;

/// Creates a new file at `path` (failing if one exists) only the current user may open.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let wide = wide(path);
    with_private_attributes(|sa| {
        // SAFETY: `wide` is NUL-terminated and `sa` points at a valid descriptor for the call.
        let handle = unsafe {
            CreateFileW(
                wide.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                sa,
                CREATE_NEW,
                FILE_ATTRIBUTE_NORMAL,
                ptr::null_mut(),
            )
        };
        if handle == INVALID_HANDLE_VALUE {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh handle this function owns.
        Ok(unsafe { File::from_raw_handle(handle as RawHandle) })
    })
}

/// Creates the directory `path` (its parent must exist) only the current user may open; what
/// is created inside inherits that.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let wide = wide(path);
    with_private_attributes(|sa| {
        // SAFETY: as in `create_private_file`.
        if unsafe { CreateDirectoryW(wide.as_ptr(), sa) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    })
}

/// Whether every entry of `path`'s DACL that allows access names the current user or SYSTEM (the
/// OS itself, which Wine lists for every file). No DACL at all (everyone may do anything) or an
/// unreadable one counts as not private.
pub fn only_current_user(path: &Path) -> bool {
    let Ok(user) = current_user_sid() else {
        return false;
    };
    let wide = wide(path);
    let mut dacl: *mut ACL = ptr::null_mut();
    let mut descriptor: PSECURITY_DESCRIPTOR = ptr::null_mut();
    // SAFETY: out-pointers to locals; the descriptor is freed below with LocalFree.
    let status = unsafe {
        GetNamedSecurityInfoW(
            wide.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            ptr::null_mut(),
            ptr::null_mut(),
            &mut dacl,
            ptr::null_mut(),
            &mut descriptor,
        )
    };
    if status != ERROR_SUCCESS {
        return false;
    }
    let private = !dacl.is_null() && {
        // SAFETY: `dacl` points into `descriptor`, alive until LocalFree.
        let count = unsafe { (*dacl).AceCount };
        (0..u32::from(count)).all(|i| {
            let mut ace: *mut c_void = ptr::null_mut();
            // SAFETY: `i` is below the ACL's count; `ace` points into the ACL.
            if unsafe { GetAce(dacl, i, &mut ace) } == 0 {
                return false;
            }
            let header = unsafe { &*(ace as *const ACE_HEADER) };
            match header.AceType {
                // An ACCESS_ALLOWED_ACE: header, mask, then the SID.
                ACCESS_ALLOWED_ACE_TYPE => {
                    let sid = unsafe { (ace as *mut u8).add(8) } as PSID;
                    let system = LOCAL_SYSTEM.as_ptr() as PSID;
                    unsafe { EqualSid(sid, user) != 0 || EqualSid(sid, system) != 0 }
                }
                // Deny entries take access away; other allow kinds are not what crlogin writes.
                1 => true,
                _ => false,
            }
        })
    };
    // SAFETY: allocated by GetNamedSecurityInfoW.
    unsafe { LocalFree(descriptor as _) };
    private
}

/// Runs `create` with security attributes whose descriptor holds the private DACL.
fn with_private_attributes<T>(
    create: impl FnOnce(*const SECURITY_ATTRIBUTES) -> io::Result<T>,
) -> io::Result<T> {
    let user = current_user_sid()?;
    // SAFETY: `user` is a valid SID for the life of the process.
    let sid_len = unsafe { GetLengthSid(user) } as usize;
    // ACL header + one ACCESS_ALLOWED_ACE (header, mask, SID in place of its SidStart u32).
    let acl_len = std::mem::size_of::<ACL>() + 8 + sid_len;
    let mut acl_buf = vec![0u32; acl_len.div_ceil(4)];
    let acl = acl_buf.as_mut_ptr() as *mut ACL;
    let mut descriptor: SECURITY_DESCRIPTOR = unsafe { std::mem::zeroed() };
    let sd = &mut descriptor as *mut SECURITY_DESCRIPTOR as PSECURITY_DESCRIPTOR;
    // SAFETY: each call gets buffers of the sizes it was told; failures are checked.
    let ok = unsafe {
        InitializeAcl(acl, (acl_buf.len() * 4) as u32, ACL_REVISION) != 0
            && AddAccessAllowedAceEx(
                acl,
                ACL_REVISION,
                OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE,
                FILE_ALL_ACCESS,
                user,
            ) != 0
            && InitializeSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION) != 0
            && SetSecurityDescriptorDacl(sd, 1, acl, 0) != 0
            && SetSecurityDescriptorControl(sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED) != 0
    };
    if !ok {
        return Err(io::Error::last_os_error());
    }
    let attributes = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd,
        bInheritHandle: 0,
    };
    create(&attributes)
}

/// The SID of the user this process runs as, looked up once.
fn current_user_sid() -> io::Result<PSID> {
    /// TOKEN_USER and the SID it points at, in one buffer that lives as long as the process.
    struct TokenUserBuffer(Box<[u64]>);
    // SAFETY: the buffer is never written after it is stored.
    unsafe impl Send for TokenUserBuffer {}
    unsafe impl Sync for TokenUserBuffer {}
    static USER: OnceLock<TokenUserBuffer> = OnceLock::new();

    if let Some(buffer) = USER.get() {
        // SAFETY: the buffer holds a TOKEN_USER whose SID points into the same buffer.
        return Ok(unsafe { (*(buffer.0.as_ptr() as *const TOKEN_USER)).User.Sid });
    }
    let mut token: HANDLE = ptr::null_mut();
    // SAFETY: the pseudo-handle of this process; `token` is closed below.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut len = 0u32;
    // SAFETY: the first call only asks for the size.
    unsafe { GetTokenInformation(token, TokenUser, ptr::null_mut(), 0, &mut len) };
    let mut buffer = vec![0u64; (len as usize).div_ceil(8)].into_boxed_slice();
    // SAFETY: `buffer` holds `len` bytes.
    let ok = unsafe {
        GetTokenInformation(
            token,
            TokenUser,
            buffer.as_mut_ptr() as *mut c_void,
            len,
            &mut len,
        )
    } != 0;
    let error = io::Error::last_os_error();
    // SAFETY: opened above.
    unsafe { CloseHandle(token) };
    if !ok {
        return Err(error);
    }
    let stored = USER.get_or_init(|| TokenUserBuffer(buffer));
    // SAFETY: as above.
    Ok(unsafe { (*(stored.0.as_ptr() as *const TOKEN_USER)).User.Sid })
}

fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain(Some(0)).collect()
}
